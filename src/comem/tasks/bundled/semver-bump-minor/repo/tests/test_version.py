import pytest

from semverlite import Version


def test_bump_patch():
    assert str(Version.parse("1.4.2").bump_patch()) == "1.4.3"


def test_bump_patch_finalizes_prerelease():
    assert str(Version.parse("1.4.3-rc.2").bump_patch()) == "1.4.3"


def test_bump_major():
    assert str(Version.parse("1.4.2").bump_major()) == "2.0.0"


def test_bump_prerelease():
    assert str(Version.parse("1.4.2").bump_prerelease()) == "1.4.3-rc.0"
    assert str(Version.parse("1.4.3-rc.0").bump_prerelease()) == "1.4.3-rc.1"
    assert str(Version.parse("1.4.3-beta").bump_prerelease()) == "1.4.3-beta.0"


def test_finalize_and_build():
    v = Version.parse("1.4.3-rc.1+abc")
    assert str(v.finalize()) == "1.4.3"
    assert str(v.finalize().with_build("ci", "7")) == "1.4.3+ci.7"


def test_immutable():
    v = Version(1, 2, 3)
    with pytest.raises(AttributeError):
        v.major = 2


def test_rejects_negative():
    with pytest.raises(ValueError):
        Version(1, -1, 0)
