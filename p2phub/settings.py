"""P2PHub settings, read from the environment (django-environ).

Every setting has an embedded default that needs nothing installed: SQLite, a local-memory
cache, Celery running tasks eagerly, leaderboards from the database. Setting DATABASE_URL,
REDIS_URL or CELERY_BROKER_URL switches on PostgreSQL, Redis and a real broker.
`DJANGO_ENV=production` turns on the production checks: no start without a secret key and
a bot token, secure cookies, HSTS.
"""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A `.env` file beside manage.py is read only when asked for (never silently: a stray file on a
# server must not change production settings). Variables already set always win over the file.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(env.str("DJANGO_DOT_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_ENV=production")
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (/api/docs/ offline)
    "treebeard",
    "pgtrigger",
    "audit",
    "partners",
    "referrals",
    "rewards",
    "payments",
    "dashboard",  # the member web dashboard and web sign-in (builds on every app above)
    "p2phub.staff.apps.StaffConfig",  # after the domain apps: extends their admin
]

MIDDLEWARE = [
    "p2phub.middleware.RequestIDMiddleware",
    "p2phub.middleware.BadInputMiddleware",  # NUL bytes, oversized bodies, JSON errors under /api/
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "p2phub.urls"
WSGI_APPLICATION = "p2phub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent local requests wait for the write lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- Cache and Redis --------------------------------------------------------------------------
from p2phub.caching import redis_caches  # noqa: E402

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Fails open and fast when Redis is down (SPEC §14; see p2phub.caching).
    CACHES = redis_caches(
        REDIS_URL,
        key_prefix=env.str("CACHE_KEY_PREFIX", default="p2phub"),
        connect_timeout_seconds=env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=0.5),
        timeout_seconds=env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=2.0),
    )
    # Not one traceback per cache call while Redis is down: /health/ reports (and logs) it.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Per-member read cache (partners.member_cache): on with a shared cache (Redis) only; 0 turns it off.
MEMBER_CACHE_SECONDS = env.int("MEMBER_CACHE_SECONDS", default=3600 if REDIS_URL else 0)

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still pass their arguments through a producer: an in-memory one, instead of a
    # default amqp://localhost connection object (and its "No hostname was supplied" warning).
    CELERY_BROKER_WRITE_URL = "memory://localhost/"
# Eager tasks (local runs and the test suite) raise their errors where they were started, so a
# failing task fails its test instead of passing silently.
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=CELERY_TASK_ALWAYS_EAGER)
# Every task is bounded: SoftTimeLimitExceeded at the soft limit (the task may clean up), the
# worker process killed at the hard limit. Long batch jobs get their own limits below.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
_LONG_TASK_LIMITS = {
    "soft_time_limit": env.int("CELERY_LONG_TASK_SOFT_TIME_LIMIT", default=1800),
    "time_limit": env.int("CELERY_LONG_TASK_TIME_LIMIT", default=1860),
}
CELERY_TASK_ANNOTATIONS = {
    name: _LONG_TASK_LIMITS
    for name in (
        "rewards.tasks.reconcile_ledgers",
        "rewards.tasks.rebuild_leaderboards",
        "rewards.tasks.cleanup_stale_tasks",
        "rewards.tasks.streak_reminders",
        "payments.tasks.expire_subscriptions",
        "referrals.tasks.retry_due_referral_awards",
        "partners.tasks.referral_digests_send",
    )
}
# Worker logs go through LOGGING below (with the request id of the request that started the
# task), not through Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# The queue tasks go to and workers read by default (a separate name keeps a test worker or a
# second deployment on the same broker apart).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")

# --- Auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/admin/"
# Staff sign-in (admin and /accounts/login/): this many failed attempts for one username from one
# IP within the window lock that pair out for the lockout time. Counted in the database, so it
# holds when Redis is down.
STAFF_LOGIN_MAX_FAILURES = env.int("STAFF_LOGIN_MAX_FAILURES", default=5)
STAFF_LOGIN_WINDOW_MINUTES = env.int("STAFF_LOGIN_WINDOW_MINUTES", default=15)
STAFF_LOGIN_LOCKOUT_MINUTES = env.int("STAFF_LOGIN_LOCKOUT_MINUTES", default=15)
LANGUAGE_CODE = "en"
# The web dashboard's and sign-in pages' translations (the apps keep their own in <app>/locale).
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGES = [("en", "English"), ("ru", "Русский")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security (production) --------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# The dashboard also runs as the Telegram Mini App, which Telegram Web shows in an iframe on
# another site (web.telegram.org): a session cookie there is a third-party cookie, which browsers
# only send with SameSite=None; Secure. So production uses None for the session and CSRF cookies
# (CSRF still holds: every POST carries the token and Django checks Origin/Referer); local HTTP
# development keeps Lax, because browsers drop SameSite=None cookies that are not Secure.
SESSION_COOKIE_SAMESITE = env.str("SESSION_COOKIE_SAMESITE", default="None" if PRODUCTION else "Lax")
CSRF_COOKIE_SAMESITE = env.str("CSRF_COOKIE_SAMESITE", default="None" if PRODUCTION else "Lax")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
# With Redis, sessions are read from the cache and written through to the database (a page
# view then reads no session row); without it, from the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
# Who may frame the dashboard pages (CSP frame-ancestors; every other page keeps DENY).
DASHBOARD_FRAME_ANCESTORS = env.list("DASHBOARD_FRAME_ANCESTORS", default=["https://web.telegram.org"])
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # /health/ping/ is probed over plain HTTP by the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^health/"]

# --- REST framework and OpenAPI ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.api.authentication.TelegramInitDataAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["partners.api.permissions.IsPartner"],
    "DEFAULT_PAGINATION_CLASS": "p2phub.api.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "p2phub.api.schema.AutoSchema",  # + the standard error responses
    "EXCEPTION_HANDLER": "p2phub.api.exceptions.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "p2phub.api.parsers.JSONParser",  # with a nesting limit (deep JSON is a 400, not a 500)
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "p2phub.api.throttling.AnonRateThrottle",  # fail open when Redis is down (SPEC §14)
        "p2phub.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "payments": env.str("THROTTLE_PAYMENTS", default="20/min"),
        "payouts": env.str("THROTTLE_PAYOUTS", default="10/min"),
        "share_events": env.str("THROTTLE_SHARE_EVENTS", default="30/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None) if env.str("NUM_PROXIES", default="") else None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "P2PHub API",
    "DESCRIPTION": "JSON API for the P2PHub Telegram Mini App and other clients.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Self-hosted Swagger UI (drf-spectacular-sidecar): /api/docs/ loads nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Telegram -----------------------------------------------------------------------------------
# Locally a fixed development token lets `manage.py demo_init_data` sign Mini App requests.
# Surrounding whitespace (a stray newline in a secret file) is never part of a token. In
# production a blank or malformed token refuses to start: Mini App sign-in HMACs with it, so a
# wrong one would silently reject every member (or, if blank, sign with a known key).
TELEGRAM_BOT_TOKEN = env.str(
    "TELEGRAM_BOT_TOKEN", default="" if PRODUCTION else "123456:LOCAL-DEVELOPMENT-TOKEN"
).strip()
if PRODUCTION and not TELEGRAM_BOT_TOKEN:
    raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN is required when DJANGO_ENV=production")
if PRODUCTION and not re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]+", TELEGRAM_BOT_TOKEN):
    raise ImproperlyConfigured(
        "TELEGRAM_BOT_TOKEN is malformed: expected '<bot id digits>:<token>' as issued by @BotFather"
    )
TELEGRAM_BOT_USERNAME = env.str("TELEGRAM_BOT_USERNAME", default="P2PHubBot")
TELEGRAM_MINI_APP_NAME = env.str("TELEGRAM_MINI_APP_NAME", default="app")
TELEGRAM_API_BASE_URL = env.str("TELEGRAM_API_BASE_URL", default="https://api.telegram.org")
INIT_DATA_MAX_AGE = env.int("INIT_DATA_MAX_AGE", default=3600)  # seconds
INIT_DATA_MAX_BYTES = env.int("INIT_DATA_MAX_BYTES", default=8192)
WEB_LOGIN_TOKEN_MINUTES = env.int("WEB_LOGIN_TOKEN_MINUTES", default=10)  # the bot's /login link
# Set by `/r/<code>` (SPEC §10), read by the web sign-in's first join: "<code>" or "<code>_<platform>".
REFERRAL_COOKIE_NAME = env.str("REFERRAL_COOKIE_NAME", default="p2p_ref")
REFERRAL_COOKIE_DAYS = env.int("REFERRAL_COOKIE_DAYS", default=30)
HTTP_CLIENT_TIMEOUT_SECONDS = env.float("HTTP_CLIENT_TIMEOUT_SECONDS", default=5.0)

# --- Telegram bot and delivery (SPEC §9, API.md "Telegram bot webhook") -------------------------
# Telegram sends this value in X-Telegram-Bot-Api-Secret-Token with every webhook call (set it
# with `manage.py telegram_webhook set`); blank refuses every webhook call (403).
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="").strip()
# Where `telegram_webhook set` points Telegram (must be HTTPS); default SITE_URL/telegram/webhook/.
TELEGRAM_WEBHOOK_URL = env.str("TELEGRAM_WEBHOOK_URL", default=f"{SITE_URL}/telegram/webhook/")
TELEGRAM_WEBHOOK_MAX_BYTES = env.int("TELEGRAM_WEBHOOK_MAX_BYTES", default=262144)
# The staff group or channel that hears about payments waiting for review (blank: not sent).
TELEGRAM_STAFF_CHAT_ID = env.str("TELEGRAM_STAFF_CHAT_ID", default="").strip()
TELEGRAM_STAFF_LANGUAGE = env.str("TELEGRAM_STAFF_LANGUAGE", default="en")
# The Mini App's web page, opened by `web_app` buttons (Telegram accepts only HTTPS there; with
# an http URL the buttons fall back to the t.me Mini App link).
TELEGRAM_MINI_APP_URL = env.str("TELEGRAM_MINI_APP_URL", default=f"{SITE_URL}/app/")
# Whether notifications and bot replies are really sent. Off with the built-in development token
# (nothing to send to); notifications then stay `pending` until it is switched on.
TELEGRAM_SEND_ENABLED = env.bool(
    "TELEGRAM_SEND_ENABLED",
    default=bool(TELEGRAM_BOT_TOKEN) and TELEGRAM_BOT_TOKEN != "123456:LOCAL-DEVELOPMENT-TOKEN",
)
# Pacing (SPEC §9: about 30 messages/s overall, 1/s per chat, 20/min per group). Shared by every
# worker through Redis when REDIS_URL is set; without Redis the limit is per process (run one
# worker), and when Redis fails each process falls back to the degraded rate. The per-chat
# spacing has a 10 % margin: requests granted 1.0 s apart can arrive closer (network jitter).
TELEGRAM_GLOBAL_RATE_PER_SECOND = env.float("TELEGRAM_GLOBAL_RATE_PER_SECOND", default=25.0)
TELEGRAM_PER_CHAT_INTERVAL_SECONDS = env.float("TELEGRAM_PER_CHAT_INTERVAL_SECONDS", default=1.1)
TELEGRAM_GROUP_CHAT_INTERVAL_SECONDS = env.float("TELEGRAM_GROUP_CHAT_INTERVAL_SECONDS", default=3.0)
TELEGRAM_DEGRADED_RATE_PER_SECOND = env.float("TELEGRAM_DEGRADED_RATE_PER_SECOND", default=5.0)
# A task waits (sleeps) at most this long for its sending slot, then hands the message to a
# later task instead of holding the worker.
TELEGRAM_PACING_MAX_WAIT_SECONDS = env.float("TELEGRAM_PACING_MAX_WAIT_SECONDS", default=2.0)
# Transient failures (5xx, timeouts): exponential backoff from the base, capped, at most this
# many attempts in all; 429 waits exactly Telegram's retry_after.
TELEGRAM_SEND_MAX_ATTEMPTS = env.int("TELEGRAM_SEND_MAX_ATTEMPTS", default=6)
TELEGRAM_RETRY_BASE_SECONDS = env.float("TELEGRAM_RETRY_BASE_SECONDS", default=2.0)
TELEGRAM_RETRY_MAX_SECONDS = env.float("TELEGRAM_RETRY_MAX_SECONDS", default=600.0)
# Ids per delivery task, and how long one task keeps sending before handing the rest on.
TELEGRAM_DELIVERY_BATCH_SIZE = env.int("TELEGRAM_DELIVERY_BATCH_SIZE", default=100)
TELEGRAM_DELIVERY_TASK_BUDGET_SECONDS = env.float("TELEGRAM_DELIVERY_TASK_BUDGET_SECONDS", default=60.0)
# A row claimed for sending longer ago than this had its worker die mid-send: it is marked failed,
# never sent again (at most once; see partners.delivery).
TELEGRAM_STALE_SENDING_MINUTES = env.int("TELEGRAM_STALE_SENDING_MINUTES", default=10)
# A notification that could not go out within this many hours is closed as skipped (stale news).
TELEGRAM_SEND_MAX_AGE_HOURS = env.int("TELEGRAM_SEND_MAX_AGE_HOURS", default=24)
# Processed webhook updates are kept this long (update_id dedupe), then pruned.
TELEGRAM_UPDATE_RETENTION_DAYS = env.int("TELEGRAM_UPDATE_RETENTION_DAYS", default=7)

# --- Referral engine (SPEC §2) ------------------------------------------------------------------
REFERRAL_MAX_LEVELS = 9
REFERRAL_XP_BY_LEVEL = (35, 10, 1, 1, 1, 1, 1, 1, 1)
PRO_XP_MULTIPLIER = 5
REFERRAL_HOURLY_LIMIT = env.int("REFERRAL_HOURLY_LIMIT", default=20)  # 0 switches it off
FRAUD_SCORING_ENABLED = env.bool("FRAUD_SCORING_ENABLED", default=True)
FRAUD_POINTS = {
    "same_ip_as_referrer": env.int("FRAUD_POINTS_SAME_IP", default=40),
    "shared_ip_as_referrer": env.int("FRAUD_POINTS_SHARED_IP", default=10),
    "same_device_as_referrer": env.int("FRAUD_POINTS_SAME_DEVICE", default=50),
    "bot_user_agent": env.int("FRAUD_POINTS_BOT_UA", default=30),
    "referrer_velocity": env.int("FRAUD_POINTS_VELOCITY", default=25),
    "sub_second_timing": env.int("FRAUD_POINTS_TIMING", default=20),
}
FRAUD_HOLD_ABOVE = env.int("FRAUD_HOLD_ABOVE", default=30)  # 31..70 held for review
FRAUD_BLOCK_ABOVE = env.int("FRAUD_BLOCK_ABOVE", default=70)  # 71..100 blocked
FRAUD_IP_WINDOW_DAYS = env.int("FRAUD_IP_WINDOW_DAYS", default=30)
# An IP seen for this many distinct members in the window is a carrier/office NAT.
FRAUD_SHARED_IP_MIN_MEMBERS = env.int("FRAUD_SHARED_IP_MIN_MEMBERS", default=25)
IP_HASH_SALT = env.str("IP_HASH_SALT", default=SECRET_KEY)

# --- Rewards (SPEC §5-§8) -----------------------------------------------------------------------
CHECKIN_BASE_XP = 10
CHECKIN_WEEKLY_BONUS_XP = 150
STREAK_BADGES = (7, 30, 100)
STREAK_REMINDER_HOUR_UTC = env.int("STREAK_REMINDER_HOUR_UTC", default=18)
STALE_TASK_DAYS = env.int("STALE_TASK_DAYS", default=30)
LEADERBOARD_BACKEND = "redis" if REDIS_URL else "database"
LEADERBOARD_KEY_PREFIX = env.str("LEADERBOARD_KEY_PREFIX", default="p2phub:lb")

# --- PRO and payments (SPEC §3-§4) --------------------------------------------------------------
PRO_PLAN_CODE = "PRO_MONTHLY"
PRO_PRICE_USD = Decimal(env.str("PRO_PRICE_USD", default="39.00"))
PRO_DURATION_DAYS = env.int("PRO_DURATION_DAYS", default=30)
COMMISSION_RATES = tuple(
    Decimal(r) for r in env.list("COMMISSION_RATES", default=["0.30", "0.05", "0.03", "0.01", "0.01", "0.01", "0.01", "0.01", "0.01"])
)
COMMISSION_HOLD_DAYS = env.int("COMMISSION_HOLD_DAYS", default=7)
PAYOUT_MINIMUM_USDT = Decimal(env.str("PAYOUT_MINIMUM_USDT", default="10"))
# Staff analytics: a UTC day is folded into the summary tables this long after it ended.
STATS_FOLD_GRACE_MINUTES = env.int("STATS_FOLD_GRACE_MINUTES", default=10)
# /api/v1/staff/stats/ and /staff/ serve beat's snapshot of the default answers, refreshed every
# STATS_SNAPSHOT_SECONDS and never older than STATS_SNAPSHOT_MAX_AGE_SECONDS (else computed live).
STATS_SNAPSHOT_SECONDS = env.int("STATS_SNAPSHOT_SECONDS", default=60)
STATS_SNAPSHOT_MAX_AGE_SECONDS = env.int("STATS_SNAPSHOT_MAX_AGE_SECONDS", default=150)
# /metrics: when set, requests need `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# One SECURITY_STAFF_DENIED audit row per caller per this many minutes (p2phub.staff.security).
STAFF_DENIED_AUDIT_MINUTES = env.int("STAFF_DENIED_AUDIT_MINUTES", default=10)
TON_QUOTE_MARKUP = Decimal(env.str("TON_QUOTE_MARKUP", default="1.02"))
TON_MIN_PAID_RATIO = Decimal(env.str("TON_MIN_PAID_RATIO", default="0.98"))
TON_SESSION_MINUTES = env.int("TON_SESSION_MINUTES", default=10)
USDT_SESSION_MINUTES = env.int("USDT_SESSION_MINUTES", default=30)
TON_API_BASE_URL = env.str("TON_API_BASE_URL", default="https://toncenter.com/api/v3")
TON_API_KEY = env.str("TON_API_KEY", default="")
# Local development runs on demo wallets and a demo TON/USD rate so that payment sessions can be
# opened in the demo network without real money. Production has neither: set the real wallets,
# and the live rate source (TON_RATE_URL) is used; a demo rate there refuses to start.
_DEMO_TON_WALLET = "UQDemoTonWalletOfTheLocalP2PHubDemoNetworkNotRealMoney0000"
_DEMO_USDT_WALLET = "TDemoUsdtWalletOfTheLocalP2PHubDemoNotReal"
TON_WALLET_ADDRESS = env.str("TON_WALLET_ADDRESS", default="" if PRODUCTION else _DEMO_TON_WALLET)
USDT_WALLET_ADDRESS = env.str("USDT_WALLET_ADDRESS", default="" if PRODUCTION else _DEMO_USDT_WALLET)
TON_RATE_URL = env.str("TON_RATE_URL", default="https://tonapi.io/v2/rates?tokens=ton&currencies=usd")
# A fixed TON price in USD for local demos only (empty: the live rate from TON_RATE_URL).
TON_DEMO_RATE_USD = env.str("TON_DEMO_RATE_USD", default="" if PRODUCTION else "5.00")
if PRODUCTION and TON_DEMO_RATE_USD:
    raise ImproperlyConfigured("TON_DEMO_RATE_USD is for local demos; production quotes only live rates")
PRO_EXPIRY_WARNING_DAYS = (3, 1)
# How long after a TON session expires the poller still looks for its (late) transfers, which
# then go to staff review instead of being lost.
TON_LATE_WINDOW_MINUTES = env.int("TON_LATE_WINDOW_MINUTES", default=60)
# Each poll pages forward (a cursor per wallet) through every transfer since the oldest open
# session: at most this many pages of this size per run; the next run resumes at the cursor.
TON_POLL_PAGE_SIZE = env.int("TON_POLL_PAGE_SIZE", default=100)
TON_POLL_MAX_PAGES = env.int("TON_POLL_MAX_PAGES", default=50)
TON_CHECK_NOW_MAX_PAGES = env.int("TON_CHECK_NOW_MAX_PAGES", default=10)
USDT_NETWORK = env.str("USDT_NETWORK", default="TRC20")  # the chain USDT payments are sent on
PAYOUT_NETWORKS = tuple(env.list("PAYOUT_NETWORKS", default=["TON", "TRC20"]))
# Payments and payouts both have a `status` enum; name them for the OpenAPI schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "PaymentStatusEnum": "payments.models.Payment.Status",
        "PayoutStatusEnum": "payments.models.Payout.Status",
    }
)

# --- Periodic jobs (Celery beat) ----------------------------------------------------------------
CELERY_BEAT_SCHEDULE = {
    # Deltas under a busy leader accumulate quickly and every exact read sums them: fold often.
    "fold-balances": {"task": "rewards.tasks.fold_balances", "schedule": timedelta(seconds=10)},
    "reconcile-ledgers": {"task": "rewards.tasks.reconcile_ledgers", "schedule": timedelta(days=1)},
    "streak-reminders": {
        "task": "rewards.tasks.streak_reminders",
        "schedule": crontab(minute=0, hour=STREAK_REMINDER_HOUR_UTC),
    },
    "cleanup-stale-tasks": {
        "task": "rewards.tasks.cleanup_stale_tasks",
        "schedule": crontab(minute=15, hour=3, day_of_week="mon"),
    },
    "rebuild-leaderboards": {"task": "rewards.tasks.rebuild_leaderboards", "schedule": crontab(minute=30, hour=3)},
    "retry-referral-awards": {"task": "referrals.tasks.retry_due_referral_awards", "schedule": timedelta(minutes=5)},
    # Stale polls are useless (the next one is 30 s away): let the broker drop them.
    "poll-ton-payments": {
        "task": "payments.tasks.poll_ton_payments",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 25},
    },
    "expire-subscriptions": {"task": "payments.tasks.expire_subscriptions", "schedule": timedelta(hours=1)},
    # Hourly L3-L9 digest, one message per leader (SPEC §9).
    "referral-digests": {"task": "partners.tasks.referral_digests_send", "schedule": crontab(minute=0)},
    # Notifications whose queued retry was lost (broker down at commit, worker lost): sent again;
    # rows stuck mid-send are closed as failed (never sent twice). Old webhook updates pruned.
    "notifications-sweep": {
        "task": "partners.tasks.notifications_sweep",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    # Staff figures at scale: closed UTC days of the commission ledger into summary tables.
    "fold-commission-stats": {"task": "payments.tasks.fold_commission_stats", "schedule": timedelta(minutes=10)},
    "staff-stats-snapshots": {
        "task": "p2phub.staff.tasks.staff_stats_snapshots_refresh",
        "schedule": timedelta(seconds=STATS_SNAPSHOT_SECONDS),
        "options": {"expires": STATS_SNAPSHOT_SECONDS},
    },
}

# --- Observability ------------------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=DJANGO_ENV,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "p2phub.middleware.RequestIDLogFilter"}},
    "formatters": {
        "standard": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "standard", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives the "django" logger a console handler of its own (with
        # DEBUG on) that also propagates to ours: every error line would print twice. One
        # handler, the root's, with the request id.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # Eager tasks run inside requests and commands (seed_demo runs thousands): their
        # "received/succeeded" lines are noise there; failures are still logged. A worker keeps them.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else LOG_LEVEL},
    },
}
