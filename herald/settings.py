"""Django settings for Herald, read from the environment.

Every setting has a default that gives a working desk on one machine with no
service: SQLite (WAL) under ``HERALD_HOME``. Anything wrong in the environment is
collected in ``CONFIG_ERRORS`` and reported by the system checks in
``herald.core.checks`` (ids ``herald.E0xx``) instead of crashing at import.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from herald.home import SQLITE_NAME, herald_home

BASE_DIR = Path(__file__).resolve().parent
CONFIG_ERRORS: list[tuple[str, str, str]] = []  # (id, message, hint)

# This module is the one that reads Herald's environment (a test in
# herald/core/tests/test_settings_module.py keeps it so). What the apps parse,
# default and check themselves (herald/notify/conf.py, herald/intake/conf.py,
# serve's --host/--port, ...) is handed to them here, raw, as HERALD_ENV: they
# read ``settings.HERALD_ENV`` where they once read ``os.environ``, so a Django
# setting of the same name still wins and a bad value is still reported by the
# same system check (herald.E0xx). Read once, when the settings load.
HERALD_ENV: dict[str, str] = {k: v for k, v in os.environ.items() if k.startswith("HERALD_")}


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    CONFIG_ERRORS.append(
        ("herald.E002", f"{name}={raw!r} is not a boolean", "Use one of 1/0, true/false, yes/no.")
    )
    return default


HERALD_HOME = herald_home()


def _secret_key() -> str:
    """The key from the environment, or one generated once and kept under HERALD_HOME."""
    from_env = os.environ.get("HERALD_SECRET_KEY")
    if from_env:
        return from_env
    path = HERALD_HOME / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    try:
        # 0700: the database, sessions and keys live here (herald.home.make_private).
        HERALD_HOME.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_urlsafe(50)
        # O_EXCL: two processes starting at once must not each write their own key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        CONFIG_ERRORS.append(
            (
                "herald.E003",
                f"HERALD_HOME {HERALD_HOME} is not writable: {exc.strerror}",
                "Point HERALD_HOME at a directory Herald may write, or set HERALD_SECRET_KEY.",
            )
        )
        return "unusable-" + secrets.token_urlsafe(40)


SECRET_KEY = _secret_key()
DEBUG = _env_bool("HERALD_DEBUG", False)

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("HERALD_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("HERALD_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's passkey list loads it
    "django_tasks",
    "django_tasks_db",
    "herald.core",
    "herald.ops",  # setup, serve, worker, health: may import every app (pyproject contracts)
    "herald.audit",
    "herald.incidents",
    "herald.advisories",
    "herald.publishing",
    "herald.api",
    "herald.notify",
    "herald.intake",
    "herald.cna",
    "herald.github",
    "herald.publication",
    "herald.web",
    "herald.backups",
    # Before allauth, so that its templates (login, layout) override allauth's.
    "herald.accounts",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "herald.accounts.middleware.SecurityHeadersMiddleware",
    # Before the session, CSRF and the access gate, which read the cookie, the body and
    # the path's identifiers: NUL characters and over-limit bodies get a clear refusal.
    "herald.core.requests.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After authentication: ends idle sessions, then gates every /desk/ route by role
    # and second factor (herald.accounts.access).
    "herald.accounts.middleware.AccessGateMiddleware",
    # A database outage raised by a view answers 503 with Retry-After (herald.urls'
    # handler500 does the same for one raised in a middleware).
    "herald.core.unavailable.DatabaseUnavailableMiddleware",
]

# Body sizes are limited per route by herald.core.requests (from Content-Length, before
# anything is read), so that the intake can take its documented attachments and every
# refusal says what was too big; Django's one global limit would answer a bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = None

ROOT_URLCONF = "herald.urls"
WSGI_APPLICATION = "herald.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "herald.web.context.vendor",
            ],
        },
    },
]


def _databases() -> dict[str, Any]:
    sqlite_path = HERALD_HOME / SQLITE_NAME
    sqlite: dict[str, Any] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": sqlite_path,
        "OPTIONS": {
            # IMMEDIATE: a write transaction takes the lock when it starts, so two
            # writers queue on busy_timeout instead of failing on lock upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
            ),
        },
        "TEST": {"NAME": HERALD_HOME / "test.sqlite3"},
    }
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url and os.environ.get("HERALD_TEST_DB") == "postgres":
        # The test suite's PostgreSQL pass (make test-postgres) on the default server.
        url = "postgres://postgres@127.0.0.1:5432/herald"
    if not url:
        return {"default": sqlite}
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises bare ValueError/KeyError on bad URLs
        CONFIG_ERRORS.append(
            (
                "herald.E001",
                f"DATABASE_URL cannot be used: {exc}",
                "Use postgres://USER:PASSWORD@HOST:PORT/NAME, or unset it for SQLite.",
            )
        )
        return {"default": sqlite}
    if config.get("ENGINE") not in {
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    }:
        CONFIG_ERRORS.append(
            (
                "herald.E001",
                f"DATABASE_URL names {config.get('ENGINE')}, which Herald does not support",
                "Herald runs on PostgreSQL (postgres://...) or SQLite (the default).",
            )
        )
        return {"default": sqlite}
    if config["ENGINE"] == "django.db.backends.postgresql":
        config.setdefault("TEST", {})["NAME"] = os.environ.get(
            "HERALD_TEST_DATABASE", f"test_{config.get('NAME') or 'herald'}"
        )
    return {"default": config}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("HERALD_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/desk/login/"
LOGIN_REDIRECT_URL = "/desk/"
LOGOUT_REDIRECT_URL = "/security/advisories/"

# Accounts (herald.accounts, django-allauth): invitation-only, a second factor for
# everyone who sees anything private, single sign-on from HERALD_OIDC_PROVIDERS.
from herald.accounts.conf import oidc_providers  # noqa: E402  (standard library only)

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "herald.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "herald.accounts.adapters.SocialAccountAdapter"
MFA_ADAPTER = "herald.accounts.adapters.MFAAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # an invitation link proves the address
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False  # sessions end with HERALD_SESSION_AGE, never "remember me"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# Throttling and lockout: per IP and per account name, in the shared database cache
# so that every web process counts the same attempts.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/15m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_RECOVERY_CODE_COUNT = 10
MFA_TOTP_TOLERANCE = 1  # one 30 s step either way: phones' clocks drift
MFA_RATE_LIMITS = {"authenticate": "5/m/user", "reauthenticate": "10/m/user"}
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = _env_bool("HERALD_WEBAUTHN_INSECURE_ORIGIN", False)
SOCIALACCOUNT_PROVIDERS, HERALD_CSP_FORM_ACTION, _oidc_errors = oidc_providers(
    os.environ.get("HERALD_OIDC_PROVIDERS", ""), environ=os.environ
)
CONFIG_ERRORS.extend(_oidc_errors)
SOCIALACCOUNT_AUTO_SIGNUP = True  # only ever with an invitation (adapters.SocialAccountAdapter)
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # an IdP's e-mail never takes over an account
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
HERALD_INVITATION_DAYS = int(os.environ.get("HERALD_INVITATION_DAYS", "7"))
HERALD_UNUSED_ACCOUNT_DAYS = int(os.environ.get("HERALD_UNUSED_ACCOUNT_DAYS", "90"))
HERALD_SESSION_IDLE_SECONDS = int(os.environ.get("HERALD_SESSION_IDLE_MINUTES", "60")) * 60
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "herald_cache",  # created by herald.accounts' migrations
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HERALD_HOME / "static"
# Only inside an existing HERALD_HOME (the secret key above creates it): `herald
# COMMAND --help` where there is no desk must not leave a directory behind.
with contextlib.suppress(OSError):  # reported as herald.E003 when HERALD_HOME is read-only
    if HERALD_HOME.is_dir():
        STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # the embedded default serves static files without collectstatic

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("HERALD_SESSION_AGE", str(12 * 3600)))
SESSION_COOKIE_SECURE = _env_bool("HERALD_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_NAME = "__Host-herald_session" if SESSION_COOKIE_SECURE else "herald_session"
CSRF_COOKIE_NAME = "__Host-herald_csrf" if SESSION_COOKIE_SECURE else "herald_csrf"
# HSTS only where cookies are secure, that is behind HTTPS.
SECURE_HSTS_SECONDS = (
    int(os.environ.get("HERALD_HSTS_SECONDS", "31536000")) if SESSION_COOKIE_SECURE else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("HERALD_HSTS_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = _env_bool("HERALD_SSL_REDIRECT", False)
# Load balancers and Prometheus probe over plain HTTP on the private side.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
if _env_bool("HERALD_BEHIND_PROXY", False):  # the proxy sets X-Forwarded-Proto
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line passes the secrets filter: no token, password or one-time link in logs.
    "filters": {
        "redact": {"()": "herald.accounts.logs.RedactSecrets"},
        # Requests answered 503 in a database outage: one warning a minute, no tracebacks.
        "outage": {"()": "herald.core.unavailable.QuietDatabaseOutage"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("HERALD_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["outage"]},
        # One line per audited commit: only to syslog, when HERALD_AUDIT_SYSLOG asks.
        "herald.audit.anchor": {"level": "WARNING"},
        # httpx/httpcore (githubkit's transport) log each request at INFO: a CLI run
        # would print GitHub's URLs on stderr. Herald's own rows say what was sent.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Modules whose import registers artifact builders (herald.publishing.store.artifacts).
HERALD_ARTIFACT_BUILDERS: list[str] = [
    "herald.publishing.site.builders",
    "herald.publishing.site.surfaces_osv",
    "herald.publishing.site.surfaces_csaf",
    "herald.publishing.site.surfaces_cve",
    "herald.publishing.site.surfaces_vex",
]

# The served copy of the artifacts on this machine (herald.publishing.store.serving).
# Listings given in parts (handbook page, OSV archive, ROLIE feed) this large or more
# are stored as blocks, so a publication writes only what it changed
# (herald.publishing.store.blocks).
# Each web and worker process reads the large listings' lines into memory when it
# starts, in the background, so that its first publication is as fast as the next.
# OSV ids are this prefix then the advisory's identifier: "x_" (a local database, as
# the OSV schema admits) unless the vendor registered its own prefix with OSV ("").
HERALD_OSV_ID_PREFIX = os.environ.get("HERALD_OSV_ID_PREFIX", "x_").strip()
# CVE Services, for a vendor that is a CNA (herald.cna, docs/cve-services.md).
# The organisation's identity in CVE records: its UUID and short name there.
HERALD_CNA_ORG_ID = os.environ.get("HERALD_CNA_ORG_ID", "").strip()
HERALD_CNA_SHORT_NAME = os.environ.get("HERALD_CNA_SHORT_NAME", "").strip()
# The API and the account Herald uses. Production by default; CVE Services' test
# environment is https://cveawg-test.mitre.org/api. The key is a secret: it is
# sent in the CVE-API-KEY header and nowhere else (no log, row or error text).
HERALD_CVE_API_URL = (
    os.environ.get("HERALD_CVE_API_URL", "").strip() or "https://cveawg.mitre.org/api"
)
HERALD_CVE_API_USER = os.environ.get("HERALD_CVE_API_USER", "").strip()
HERALD_CVE_API_KEY = os.environ.get("HERALD_CVE_API_KEY", "").strip()
# Where `npm ci` installed @secvisogram/csaf-validator-lib (node_modules inside it),
# for `herald validate`: the checkout's test validators unless set.
HERALD_CSAF_VALIDATOR_DIR = os.environ.get("HERALD_CSAF_VALIDATOR_DIR", "").strip()
HERALD_WARM_PUBLISHING = _env_bool("HERALD_WARM_PUBLISHING", True)
HERALD_ARTIFACT_BLOCKS_FROM = int(os.environ.get("HERALD_ARTIFACT_BLOCKS_FROM", str(1 << 20)))
HERALD_SITE_DIR = Path(os.environ.get("HERALD_SITE_DIR") or HERALD_HOME / "site").resolve()
# How often each web process asks the database whether artifacts changed (seconds).
HERALD_SITE_POLL = float(os.environ.get("HERALD_SITE_POLL", "0.25"))
# Per-process memory for served artifacts (bytes); the rest is read from disk.
HERALD_SITE_CACHE_BYTES = int(os.environ.get("HERALD_SITE_CACHE_MB", "64")) * 1024 * 1024
# Cache-Control of artifacts: short for browsers, longer for shared caches (CDNs),
# which the publish hook purges after each publication.
HERALD_CACHE_CONTROL = os.environ.get(
    "HERALD_CACHE_CONTROL",
    "public, max-age=60, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400",
)
# A shell command run by the worker after each publication, once the static export
# in HERALD_EXPORT_DIR is up to date: push it (object storage, CDN) and purge.
HERALD_PUBLISH_HOOK = os.environ.get("HERALD_PUBLISH_HOOK", "")
HERALD_PUBLISH_HOOK_TIMEOUT = int(os.environ.get("HERALD_PUBLISH_HOOK_TIMEOUT", "600"))
HERALD_EXPORT_DIR = Path(os.environ.get("HERALD_EXPORT_DIR") or HERALD_HOME / "export").resolve()

# GitHub (herald.github, docs/github.md): a fine-grained token of the repositories
# Herald links advisories to, and the REST API's base URL (GitHub Enterprise Server:
# https://HOST/api/v3; the tests point it at a loopback peer). The token is a secret:
# it goes in the Authorization header and nowhere else (no log, row or audit event).
HERALD_GITHUB_TOKEN = os.environ.get("HERALD_GITHUB_TOKEN", "").strip()
HERALD_GITHUB_API_URL = (
    os.environ.get("HERALD_GITHUB_API_URL", "").strip() or "https://api.github.com"
).rstrip("/")
if not HERALD_GITHUB_API_URL.startswith(("https://", "http://")):
    CONFIG_ERRORS.append(
        (
            "herald.E050",
            f"HERALD_GITHUB_API_URL={HERALD_GITHUB_API_URL[:100]!r} is not an http(s) URL",
            "Leave it unset for api.github.com, or give https://HOST/api/v3 for GitHub "
            "Enterprise Server.",
        )
    )

# The handbook page as a pull request from the desk (herald.github.pulls): a git
# checkout of the website on this machine, the page's path in it, and the GitHub
# repository the pull request is opened on. All three, or the desk offers no button
# (`herald github handbook` takes them as options too).
HERALD_HANDBOOK_GIT_REPO = os.environ.get("HERALD_HANDBOOK_GIT_REPO", "").strip()
HERALD_HANDBOOK_PAGE = os.environ.get("HERALD_HANDBOOK_PAGE", "").strip()
HERALD_HANDBOOK_REPOSITORY = os.environ.get("HERALD_HANDBOOK_REPOSITORY", "").strip()

# Backups (herald.backups): the logical dump's format keeps times to the microsecond.
SERIALIZATION_MODULES = {"heraldjson": "herald.backups.serializer"}


# The worker's scheduled backup: off unless a directory is set; the newest KEEP stay.
def _env_number(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = minimum - 1
    if value < minimum:
        CONFIG_ERRORS.append(
            ("herald.E030", f"{name}={raw!r} is not a number of at least {minimum:g}", "")
        )
        return default
    return value


HERALD_BACKUP_DIR = os.environ.get("HERALD_BACKUP_DIR", "").strip()
HERALD_BACKUP_KEEP = int(_env_number("HERALD_BACKUP_KEEP", 7, minimum=1))
HERALD_BACKUP_HOURS = _env_number("HERALD_BACKUP_HOURS", 24, minimum=0.01)
HERALD_BACKUP_ENCRYPT_TO = os.environ.get("HERALD_BACKUP_ENCRYPT_TO", "").strip()

# The audit chain's anchor: signed checkpoints appended after each audited commit,
# with the anchor key, in a directory the database cannot write (herald.audit.anchor).
HERALD_AUDIT_ANCHOR_DIR = Path(
    os.environ.get("HERALD_AUDIT_ANCHOR_DIR") or HERALD_HOME / "audit"
).resolve()
# Also send each checkpoint to syslog: a socket path (/dev/log) or host:port (UDP).
HERALD_AUDIT_SYSLOG = os.environ.get("HERALD_AUDIT_SYSLOG", "").strip()
if HERALD_AUDIT_SYSLOG:
    _host, _, _port = HERALD_AUDIT_SYSLOG.rpartition(":")
    _address: Any = (_host, int(_port)) if _host and _port.isdigit() else HERALD_AUDIT_SYSLOG
    if isinstance(_address, str) and not Path(_address).exists():
        CONFIG_ERRORS.append(
            (
                "herald.E031",
                f"HERALD_AUDIT_SYSLOG={HERALD_AUDIT_SYSLOG!r}: no such socket",
                "Give the syslog socket (/dev/log) or host:port (UDP), or unset it.",
            )
        )
    else:
        LOGGING["handlers"]["audit_syslog"] = {  # type: ignore[index]
            "class": "logging.handlers.SysLogHandler",
            "address": _address,
        }
        LOGGING["loggers"]["herald.audit.anchor"] = {  # type: ignore[index]
            "handlers": ["audit_syslog"],
            "level": "INFO",
            "propagate": False,
        }


# Operations (docs/operations.md). A worker that loses the database retries with a
# delay doubling up to this many seconds; /readyz calls a worker whose heartbeat is
# older than HERALD_WORKER_STALE seconds gone, and a served copy behind the database
# for longer than HERALD_SITE_LAG_LIMIT seconds stale.
HERALD_WORKER_RETRY_MAX = _env_number("HERALD_WORKER_RETRY_MAX", 30, minimum=0.1)
HERALD_WORKER_STALE = _env_number("HERALD_WORKER_STALE", 60, minimum=1)
HERALD_SITE_LAG_LIMIT = _env_number("HERALD_SITE_LAG_LIMIT", 60, minimum=1)
# Who may read /metrics: a bearer token, or clients from these networks (CIDRs)
# that came directly, not through a proxy (no X-Forwarded-For / Forwarded header).
HERALD_METRICS_TOKEN = os.environ.get("HERALD_METRICS_TOKEN", "")
HERALD_METRICS_ALLOW = [
    n.strip()
    for n in os.environ.get("HERALD_METRICS_ALLOW", "127.0.0.0/8,::1/128").split(",")
    if n.strip()
]
for _network in HERALD_METRICS_ALLOW:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        CONFIG_ERRORS.append(
            (
                "herald.E020",
                f"HERALD_METRICS_ALLOW: {_network!r} is not a network",
                "Give networks in CIDR form, comma-separated: 10.0.0.0/8,::1/128.",
            )
        )
# Reverse proxies whose X-Forwarded-For names the client for per-address limits
# (herald.core.clientip): how many stand in front of Herald, or their addresses or
# networks, comma-separated. Unset or 0: REMOTE_ADDR, the header ignored.
_trusted = os.environ.get("HERALD_TRUSTED_PROXIES", "").strip()
HERALD_TRUSTED_PROXIES: int | list[str] = int(_trusted) if _trusted.isdigit() else 0
if _trusted and not _trusted.isdigit():
    HERALD_TRUSTED_PROXIES = [n.strip() for n in _trusted.split(",") if n.strip()]
    for _network in HERALD_TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(_network, strict=False)
        except ValueError:
            CONFIG_ERRORS.append(
                (
                    "herald.E021",
                    f"HERALD_TRUSTED_PROXIES: {_network!r} is neither a count nor an address",
                    "Give how many proxies stand in front of Herald (1), or their "
                    "addresses or networks, comma-separated: 10.0.0.5,10.1.0.0/16.",
                )
            )
            HERALD_TRUSTED_PROXIES = 0
            break
# While the database is unreachable, Django's routes answer 503 with this Retry-After.
HERALD_RETRY_AFTER = int(_env_number("HERALD_RETRY_AFTER", 30, minimum=1))

# The public base URL of every absolute link (herald.core.baseurl): when unset, the
# address `herald serve` listens on.
HERALD_BASE_URL = os.environ.get("HERALD_BASE_URL", "").strip()

# Where every e-mail goes (herald.core.mail): the SMTP server of HERALD_SMTP_URL
# (smtp://user:password@host:port?starttls=1, or smtps://...), else the local outbox
# shown in the desk at /desk/outbox/. Django's own mail (allauth) goes the same way.
HERALD_SMTP_URL = os.environ.get("HERALD_SMTP_URL", "").strip()
# The From: of every e-mail; unset: "<vendor> security <security contact>".
HERALD_MAIL_FROM = os.environ.get("HERALD_MAIL_FROM", "").strip()
EMAIL_BACKEND = "herald.core.mail.EmailBackend"
