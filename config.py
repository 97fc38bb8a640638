"""ASXH configuration, read from the environment.

Every setting has a typed parser that refuses junk with a clear message, so a
typo in a deployment fails at start-up instead of at the first request.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    """A setting in the environment has a value we cannot use."""


def _env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = _env_str(name, default)
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def _env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = _env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(f"{name}={value} is outside {minimum}..{maximum}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = _env_str(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def _env_url(name: str, default: str | None, schemes: tuple[str, ...]) -> str | None:
    value = _env_str(name, default)
    if value is None:
        return None
    scheme = value.split(":", 1)[0].split("+", 1)[0]
    if "://" not in value or scheme not in schemes:
        raise ConfigError(f"{name}={value!r} is not a URL with scheme {', '.join(schemes)}")
    return value


def instance_dir() -> Path:
    path = Path(_env_str("ASXH_INSTANCE_DIR", str(BASE_DIR / "instance")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(env: str) -> str:
    key = _env_str("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY is required when ASXH_ENV=production")
    # Demo and tests: generate once and keep it so sessions survive a restart.
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _audit_key(env: str) -> str:
    """The secret that keys the audit trail's hash chain (HMAC). Never stored in the database:
    whoever can write audit_log without it cannot forge a valid chain."""
    key = _env_str("AUDIT_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError("AUDIT_KEY must be at least 32 characters long")
        return key
    if env == "production":
        raise ConfigError(
            "AUDIT_KEY is required when ASXH_ENV=production (keep it out of the database and out of backups of it)"
        )
    path = instance_dir() / "audit_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config from the environment (plus explicit overrides)."""
    env = _env_choice("ASXH_ENV", ("development", "test", "production"), "development")
    secret_key = _secret_key(env)
    database_url = _env_url(
        "DATABASE_URL",
        f"sqlite:///{instance_dir() / 'asxh.db'}",
        ("sqlite", "postgresql", "postgres"),
    )
    if database_url.startswith("postgres://") or database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    if env == "production" and database_url.startswith("sqlite"):
        raise ConfigError("ASXH_ENV=production needs DATABASE_URL pointing at PostgreSQL")
    redis_url = _env_url("REDIS_URL", None, ("redis", "rediss", "unix"))
    if env == "production" and not redis_url:
        raise ConfigError("ASXH_ENV=production needs REDIS_URL (the embedded Redis is for the demo only)")

    cfg = dict(
        ASXH_ENV=env,
        SECRET_KEY=secret_key,
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        # Times are stored as naive UTC: PostgreSQL's now() (server defaults) must give UTC as well. No JIT: the
        # large set-based statements (payout sync, lock checks, exports) are planned expensive enough to be
        # compiled, and compiling them cost more than running them (18 s of a 49 s sync of 110,000 lines).
        SQLALCHEMY_ENGINE_OPTIONS=dict(
            {"pool_pre_ping": True},
            **(
                {"connect_args": {"options": "-c timezone=UTC -c jit=off"}}
                if database_url.startswith("postgresql")
                else {}
            ),
        ),
        REDIS_URL=redis_url,
        EMBEDDED_REDIS_PATH=str(instance_dir() / "redis.rdb"),
        UNIT_SCHEME=_env_choice("UNIT_SCHEME", ("2024", "2025"), "2024"),
        # What the city department is called in the 2025 scheme (the role name users see and type).
        CITY_DEPARTMENT_NAME=_env_str("CITY_DEPARTMENT_NAME", "Sở quản lý an sinh"),
        DEMO_PASSWORD=_env_str("DEMO_PASSWORD", "Demo@12345"),
        RQ_QUEUE=_env_str("RQ_QUEUE", "asxh"),
        JOB_TIMEOUT=_env_int("JOB_TIMEOUT", 3600, minimum=10),
        DASHBOARD_CACHE_SECONDS=_env_int("DASHBOARD_CACHE_SECONDS", 0 if env == "test" else 60, minimum=0),
        # The unit choices of the list pages' search forms, rendered once per list and unit of the user; dropped
        # when a unit changes, and after this many seconds anyway. 0: rendered on every page.
        UNIT_CHOICES_CACHE_SECONDS=_env_int("UNIT_CHOICES_CACHE_SECONDS", 0 if env == "test" else 3600, minimum=0),
        # List pages count their rows exactly up to this many, then show the planner's estimate ("about N",
        # PostgreSQL): an exact count(*) of a city-wide list reads the whole registry on every page. 0: always exact.
        LIST_EXACT_COUNT_LIMIT=_env_int("LIST_EXACT_COUNT_LIMIT", 10_000, minimum=0),
        MAX_CONTENT_LENGTH=_env_int("MAX_UPLOAD_MB", 200, minimum=1, maximum=2048) * 1024 * 1024,
        # Imported files (app/services/registry/sheets.py SheetLimits): refused with a message beyond these, before
        # the reader unpacks anything (zip bombs) or while streaming rows (huge cells, too many columns).
        IMPORT_MAX_UNCOMPRESSED_MB=_env_int("IMPORT_MAX_UNCOMPRESSED_MB", 200, minimum=1, maximum=4096),
        IMPORT_MAX_ZIP_RATIO=_env_int("IMPORT_MAX_ZIP_RATIO", 100, minimum=2),
        IMPORT_MAX_ZIP_MEMBERS=_env_int("IMPORT_MAX_ZIP_MEMBERS", 1000, minimum=10),
        IMPORT_MAX_CELL_CHARS=_env_int("IMPORT_MAX_CELL_CHARS", 2000, minimum=100, maximum=32767),
        IMPORT_MAX_COLUMNS=_env_int("IMPORT_MAX_COLUMNS", 200, minimum=10, maximum=16384),
        IMPORT_MAX_ROWS=_env_int("IMPORT_MAX_ROWS", 500_000, minimum=100, maximum=1_048_576),
        IMPORT_MAX_CELLS=_env_int("IMPORT_MAX_CELLS", 6_000_000, minimum=10_000),
        IMPORT_RAW_MAX_CHARS=_env_int("IMPORT_RAW_MAX_CHARS", 8000, minimum=200),
        # An .xlsx sheet spanning more cells than this is streamed (openpyxl read-only: flat memory, slower)
        # instead of read whole by python-calamine (~85 bytes a cell).
        IMPORT_STREAM_ABOVE_CELLS=_env_int("IMPORT_STREAM_ABOVE_CELLS", 1_000_000, minimum=0),
        # Account pre-validation (app/services/payout/prevalidation.py): a bank's online check service (off when
        # unset: offices exchange files) and its time-out; with PAYOUT_PREVALIDATION_MAX_AGE_DAYS > 0 the payout
        # sync holds an account the bank has not found valid within that many days of the period date.
        ACCOUNT_VERIFY_URL=_env_str("ACCOUNT_VERIFY_URL"),
        ACCOUNT_VERIFY_TIMEOUT=_env_int("ACCOUNT_VERIFY_TIMEOUT", 5, minimum=1, maximum=120),
        PAYOUT_PREVALIDATION_MAX_AGE_DAYS=_env_int("PAYOUT_PREVALIDATION_MAX_AGE_DAYS", 0, minimum=0, maximum=3650),
        # Approval tiers of a payout period (app/services/payout/tiers.py): how many approvers each tier needs
        # (N of the M users holding the tier's capability in scope).
        PAYOUT_APPROVERS_VERIFY=_env_int("PAYOUT_APPROVERS_VERIFY", 1, minimum=1, maximum=10),
        PAYOUT_APPROVERS_HEAD=_env_int("PAYOUT_APPROVERS_HEAD", 1, minimum=1, maximum=10),
        # Flask-AppBuilder
        APP_NAME="ASXH — Chi trả an sinh xã hội",
        APP_THEME="",
        AUTH_TYPE=AUTH_DB,
        AUTH_ROLE_ADMIN="Quản trị hệ thống",
        AUTH_ROLE_PUBLIC="Public",
        FAB_SECURITY_MANAGER_CLASS="app.security.manager.AsxhSecurityManager",
        FAB_CREATE_DB=False,
        FAB_UPDATE_PERMS=False,
        FAB_ADD_SECURITY_API=False,
        FAB_API_SWAGGER_UI=True,
        FAB_INDEX_VIEW="app.views.home.HomeView",
        FAB_BASE_TEMPLATE="asxh_base.html",
        FAB_PASSWORD_COMPLEXITY_ENABLED=True,
        FAB_PASSWORD_COMPLEXITY_VALIDATOR="app.security.manager.password_policy",
        # Babel
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        BABEL_TRANSLATION_DIRECTORIES=str(BASE_DIR / "translations"),
        LANGUAGES={"vi": {"flag": "vn", "name": "Tiếng Việt"}, "en": {"flag": "gb", "name": "English"}},
        # Security
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_env_bool("SESSION_COOKIE_SECURE", env == "production"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=_env_bool("SESSION_COOKIE_SECURE", env == "production"),
        # Login protection (app/security/login.py): after these many failures per (username, address) pair
        # and per address, exponential delays (2, 4, 8 … s, capped); counters forgotten after the window.
        LOGIN_FREE_FAILURES_PAIR=_env_int("LOGIN_FREE_FAILURES_PAIR", 5, minimum=1),
        LOGIN_FREE_FAILURES_ADDR=_env_int("LOGIN_FREE_FAILURES_ADDR", 20, minimum=1),
        LOGIN_BACKOFF_CAP_SECONDS=_env_int("LOGIN_BACKOFF_CAP_SECONDS", 300, minimum=1),
        LOGIN_WINDOW_MINUTES=_env_int("LOGIN_WINDOW_MINUTES", 15, minimum=1),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none).
        TRUSTED_PROXIES=_env_int("TRUSTED_PROXIES", 0, minimum=0, maximum=5),
        PERMANENT_SESSION_LIFETIME=_env_int("SESSION_MINUTES", 30, minimum=1) * 60,
        JWT_ACCESS_TOKEN_EXPIRES=_env_int("JWT_MINUTES", 15, minimum=1) * 60,
        JWT_REFRESH_TOKEN_EXPIRES=_env_int("JWT_REFRESH_HOURS", 12, minimum=1) * 3600,
        RATELIMIT_ENABLED=False,
        # Audit trail (app/services/audit.py): chain key and anchors kept outside the database.
        AUDIT_KEY=_audit_key(env),
        AUDIT_ANCHOR_PATH=_env_str("AUDIT_ANCHOR_PATH", str(instance_dir() / "audit_anchors")),
        AUDIT_ANCHOR_EVERY=_env_int("AUDIT_ANCHOR_EVERY", 1000, minimum=1),
        # Notices to beneficiaries (app/services/notices/). No gateway by default: the outbox is exported for an
        # office's own SMS service. "gsm7": texts without tones (one 160-character segment); "ucs2": with tones.
        SMS_ENCODING=_env_choice("SMS_ENCODING", ("gsm7", "ucs2"), "gsm7"),
        SMS_GATEWAY_URL=_env_url("SMS_GATEWAY_URL", None, ("http", "https")),
        SMS_GATEWAY_TOKEN=_env_str("SMS_GATEWAY_TOKEN"),  # sent as "Authorization: Bearer …" when set
        SMS_GATEWAY_TIMEOUT=_env_int("SMS_GATEWAY_TIMEOUT", 10, minimum=1, maximum=120),
        SMS_MAX_ATTEMPTS=_env_int("SMS_MAX_ATTEMPTS", 5, minimum=1, maximum=50),
        SMS_RETRY_MINUTES=_env_int("SMS_RETRY_MINUTES", 15, minimum=1),
    )
    if env == "test":
        # Password hashing dominates test time; a cheap method is fine for throwaway users.
        cfg["FAB_PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1000"
    if overrides:
        cfg.update(overrides)
    return cfg
