import pytest

from semverlite import Range


@pytest.mark.parametrize(
    "rng, version, expected",
    [
        ("^1.2.3", "1.9.0", True),
        ("^1.2.3", "2.0.0", False),
        ("^0.2.3", "0.2.9", True),
        ("^0.2.3", "0.3.0", False),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        (">=1.0.0 <2.0.0", "1.5.5", True),
        (">=1.0.0 <2.0.0", "2.0.0", False),
        ("1.x", "1.7.1", True),
        ("1.2.3 - 2.3", "2.3.9", True),
        ("1.2.3 - 2.3", "2.4.0", False),
        ("<1.0.0 || >=3.0.0", "3.1.0", True),
        ("<1.0.0 || >=3.0.0", "2.0.0", False),
    ],
)
def test_satisfies(rng, version, expected):
    assert Range(rng).satisfies(version) is expected


def test_prerelease_needs_matching_comparator():
    assert not Range("^1.2.0").satisfies("1.3.0-beta.1")
    assert Range(">=1.3.0-beta.0 <1.4.0").satisfies("1.3.0-beta.1")


def test_max_satisfying():
    assert Range("~2.1").max_satisfying(["2.0.9", "2.1.4", "2.1.10", "2.2.0"]) == "2.1.10"
