import pytest

from iniconf import Config, InterpolationError


def test_same_section_reference():
    cfg = Config.from_string("[db]\nhost = db1\nport = 5432\ndsn = pg://${host}:${port}/app\n")
    assert cfg.get("db", "dsn") == "pg://db1:5432/app"


def test_reference_to_default():
    cfg = Config.from_string("[DEFAULT]\nroot = /srv\n[paths]\nlogs = ${root}/logs\n")
    assert cfg.get("paths", "logs") == "/srv/logs"


def test_cross_section_reference():
    cfg = Config.from_string("[db]\nhost = db1\n[app]\ndb_host = ${db:host}\n")
    assert cfg.get("app", "db_host") == "db1"


def test_nested_references():
    cfg = Config.from_string("[a]\nx = 1\ny = ${x}${x}\nz = ${y}-${y}\n")
    assert cfg.get("a", "z") == "11-11"


def test_dollar_escape_and_raw():
    cfg = Config.from_string("[a]\nprice = $$5\nref = ${price}\n")
    assert cfg.get("a", "price") == "$5"
    assert cfg.get("a", "ref", raw=True) == "${price}"


@pytest.mark.parametrize(
    "text",
    [
        "[a]\nx = ${missing}\n",
        "[a]\nx = ${nosuch:key}\n",
        "[a]\nx = ${y}\ny = ${x}\n",
        "[a]\nx = ${}\n",
    ],
)
def test_interpolation_errors(text):
    with pytest.raises(InterpolationError):
        Config.from_string(text).get("a", "x")
