import pytest

from semverlite import ParseError, Version, parse_version


def test_parse_full_version():
    assert parse_version("1.2.3-alpha.1+build.5") == (1, 2, 3, ("alpha", 1), ("build", "5"))


def test_parse_plain():
    v = Version.parse("10.20.30")
    assert (v.major, v.minor, v.patch) == (10, 20, 30)
    assert v.prerelease == ()


@pytest.mark.parametrize("text", ["1.2", "01.2.3", "1.2.3-", "1.2.3-01", "v1.2.3", "1.2.3.4", ""])
def test_strict_rejects(text):
    with pytest.raises(ParseError):
        parse_version(text)


def test_loose_accepts_prefix_and_partial():
    assert parse_version("v1.2", loose=True) == (1, 2, 0, (), ())
    assert parse_version("=3", loose=True) == (3, 0, 0, (), ())


def test_str_roundtrip():
    for text in ["0.0.1", "1.2.3-rc.1", "1.2.3+sha.abc", "2.0.0-beta.2+exp.7"]:
        assert str(Version.parse(text)) == text
