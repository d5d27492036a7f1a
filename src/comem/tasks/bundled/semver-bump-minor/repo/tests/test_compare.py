from semverlite import Version, compare, max_version, sort_versions


def test_core_ordering():
    assert compare("1.0.0", "2.0.0") == -1
    assert compare("2.1.0", "2.0.9") == 1
    assert compare("1.2.3", "1.2.3") == 0


def test_prerelease_lower_than_release():
    assert Version.parse("1.0.0-alpha") < Version.parse("1.0.0")


def test_spec_example_order():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    assert sort_versions(list(reversed(ordered))) == ordered


def test_build_metadata_ignored():
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")


def test_max_version():
    assert max_version(["1.2.0", "1.10.0", "1.9.9"]) == "1.10.0"
    assert max_version([]) is None
