import pytest

from iniconf import Config, ConfigError, NoOptionError, NoSectionError

TEXT = """
[DEFAULT]
timeout = 30
debug = no

[server]
port = 8080
debug = yes
ratio = 0.75
tags = web, api,
    internal

[client]
retries = 3
"""


@pytest.fixture
def cfg():
    return Config.from_string(TEXT)


def test_sections(cfg):
    assert cfg.sections() == ["server", "client"]


def test_typed_getters(cfg):
    assert cfg.getint("server", "port") == 8080
    assert cfg.getfloat("server", "ratio") == 0.75
    assert cfg.getboolean("server", "debug") is True
    assert cfg.getlist("server", "tags") == ["web", "api", "internal"]


def test_defaults_are_inherited_and_overridden(cfg):
    assert cfg.getint("client", "timeout") == 30
    assert cfg.getboolean("client", "debug") is False
    assert cfg.getboolean("server", "debug") is True


def test_keys_are_case_insensitive(cfg):
    assert cfg.get("server", "PORT") == "8080"


def test_missing(cfg):
    with pytest.raises(NoSectionError):
        cfg.get("nope", "x")
    with pytest.raises(NoOptionError):
        cfg.get("client", "port")
    assert cfg.get("client", "port", fallback="80") == "80"
    assert cfg.getint("client", "port", fallback=80) == 80


def test_bad_types(cfg):
    with pytest.raises(ConfigError):
        cfg.getint("server", "ratio")
    with pytest.raises(ConfigError):
        cfg.getboolean("server", "port")


def test_items_merge_defaults(cfg):
    assert dict(cfg.items("client")) == {"timeout": "30", "debug": "no", "retries": "3"}


def test_from_files_later_wins(tmp_path):
    base = tmp_path / "base.ini"
    local = tmp_path / "local.ini"
    base.write_text("[a]\nx = 1\ny = 2\n")
    local.write_text("[a]\ny = 20\n")
    cfg = Config.from_files(base, local, tmp_path / "missing.ini")
    assert (cfg.get("a", "x"), cfg.get("a", "y")) == ("1", "20")
