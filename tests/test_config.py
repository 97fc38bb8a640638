"""Config is read from the environment through strict parsers."""

import pytest

from config import ConfigError, load_config


@pytest.fixture()
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("ASXH_INSTANCE_DIR", str(tmp_path))
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "ASXH_ENV",
        "UNIT_SCHEME",
        "MAX_UPLOAD_MB",
        "SESSION_COOKIE_SECURE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_embedded(env, tmp_path):
    cfg = load_config()
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'asxh.db'}"
    assert cfg["REDIS_URL"] is None
    assert cfg["UNIT_SCHEME"] == "2024"
    assert cfg["BABEL_DEFAULT_LOCALE"] == "vi"
    assert cfg["FAB_CREATE_DB"] is False and cfg["FAB_UPDATE_PERMS"] is False
    assert cfg["WTF_CSRF_ENABLED"] is True
    # The generated secret is kept, so a restart keeps sessions valid.
    assert len(cfg["SECRET_KEY"]) >= 32
    assert load_config()["SECRET_KEY"] == cfg["SECRET_KEY"]


@pytest.mark.parametrize(
    "name,value,fragment",
    [
        ("UNIT_SCHEME", "2023", "UNIT_SCHEME"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("REDIS_URL", "http://localhost", "REDIS_URL"),
        ("MAX_UPLOAD_MB", "lots", "MAX_UPLOAD_MB"),
        ("MAX_UPLOAD_MB", "0", "MAX_UPLOAD_MB"),
        ("SESSION_COOKIE_SECURE", "maybe", "SESSION_COOKIE_SECURE"),
        ("ASXH_ENV", "staging", "ASXH_ENV"),
        ("SECRET_KEY", "short", "SECRET_KEY"),
    ],
)
def test_junk_is_refused_with_the_setting_named(env, name, value, fragment):
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=fragment):
        load_config()


def test_production_requires_secrets_and_servers(env):
    env.setenv("ASXH_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config()
    env.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load_config()
    env.setenv("DATABASE_URL", "postgresql://db.example/asxh")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_config()
    env.setenv("REDIS_URL", "redis://cache.example:6379/0")
    with pytest.raises(ConfigError, match="AUDIT_KEY"):
        load_config()
    env.setenv("AUDIT_KEY", "k" * 40)
    cfg = load_config()
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db.example/asxh"
    assert cfg["SESSION_COOKIE_SECURE"] is True
