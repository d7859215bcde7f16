"""BoneSync settings: everything environmental comes from env vars, with working defaults for the embedded run.

`DJANGO_ENV=production` switches on the strict mode: the process refuses to start with DEBUG on, the default
secret key or no allowed hosts (see `_refuse_unsafe_production`). Any other value than `development` or
`production` refuses to start.
"""

import re
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

django_stubs_ext.monkeypatch()  # lets admin.ModelAdmin[Model] etc. be subscripted at run time

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # embedded-run state: SQLite file, filesystem broker queues

env = environ.Env()

DJANGO_ENVS = ("development", "production")
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in DJANGO_ENVS:
    # A typo ("Production", "prod") must not quietly run development settings with the public secret key.
    raise ImproperlyConfigured(
        f"Refusing to start: DJANGO_ENV={DJANGO_ENV!r} is not one of {', '.join(DJANGO_ENVS)} (exactly, lower case)"
    )
PRODUCTION = DJANGO_ENV == "production"

_DEFAULT_SECRET = "dev-insecure-bonesync-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEFAULT_SECRET)
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)


def _refuse_unsafe_production() -> None:
    problems = []
    if DEBUG:
        problems.append("DJANGO_DEBUG must be off")
    if SECRET_KEY == _DEFAULT_SECRET or SECRET_KEY.startswith("dev-insecure") or len(SECRET_KEY) < 50:
        problems.append("DJANGO_SECRET_KEY must be set to a long random value")
    if not ALLOWED_HOSTS:
        problems.append("DJANGO_ALLOWED_HOSTS must name the hosts this server answers for")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))


if PRODUCTION:
    _refuse_unsafe_production()

INSTALLED_APPS = [
    "apps.accounts.admin_apps.StaffAdminConfig",  # django.contrib.admin with the second factor (STAFF_MFA_REQUIRED)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc, pinned and served from this server
    "django_otp",
    "django_otp.plugins.otp_totp",
    "push_notifications",
    "backend",
    "apps.accounts",
    "apps.profiles",
    "apps.medications",
    "apps.supplements",
    "apps.exercise",
    "apps.joint_pain",
    "apps.alerts",
    "apps.appointments",
    "apps.reminders",
    "apps.sync",
    "apps.console",
    "apps.demo",
    "apps.fhir",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): this session passed the second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "backend.errors.DatabaseBusyMiddleware",  # SQLite's write lock waited out: 503 + Retry-After, not a 500
]

if PRODUCTION:  # runserver serves static files in development; whitenoise does in production
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default has one writer at a time (web, worker, beat): a transaction that reads then writes (a
    # sync pull records its snapshot) must take the write lock up front, or SQLite refuses it ("database is
    # locked") instead of waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://bonesync")}
# Several processes sharing one Redis database keep apart by a key prefix (the test suite's parallel workers do).
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="")
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # A Redis outage must not hang requests: the throttles fail open after these (backend/throttles.py).
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 1, "socket_timeout": 1})

AUTH_USER_MODEL = "accounts.User"
# Django's password check behind the sign-in limits (apps/accounts/signin_limits.py), for every door.
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.LimitedModelBackend"]
SIGN_IN_FAILURES_PER_ACCOUNT = env.int("SIGN_IN_FAILURES_PER_ACCOUNT", default=10)
SIGN_IN_FAILURES_PER_ADDRESS = env.int("SIGN_IN_FAILURES_PER_ADDRESS", default=30)
SIGN_IN_FAILURE_WINDOW_MINUTES = env.int("SIGN_IN_FAILURE_WINDOW_MINUTES", default=15)
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "apps.accounts.passwords.NotOnlyWhitespaceValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# The care team's console (apps/console): session sign-in for staff, CSRF on every form.
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"
CSRF_FAILURE_VIEW = "apps.console.views.csrf_failure"
SESSION_COOKIE_AGE = env.int("CONSOLE_SESSION_HOURS", default=10) * 3600  # a working day, then sign in again
SESSION_COOKIE_SAMESITE = "Lax"

# Second factor for staff (console and admin): a TOTP code from an authenticator app, after the password. Required in
# production; in development and the embedded demo only staff who enrolled a device are asked for it.
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=PRODUCTION)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="BoneSync")
# Wrong codes lock the device for 1, 2, 4, 8 ... seconds after each successive failure (django-otp's throttling;
# 0 would switch it off, so it is not configurable).
OTP_TOTP_THROTTLE_FACTOR = 1
CSRF_COOKIE_SAMESITE = "Lax"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT is the number of proxies in front of this server: 0 or more")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["backend.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "backend.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "backend.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "backend.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # Sign-in attempts per client address (API, console and admin share the count); 429 beyond.
        "auth": env.str("AUTH_THROTTLE_RATE", default="10/minute"),
        # Per account (the refresh token's user): well above an app's real rate (one refresh per 15-minute access
        # token per device), and never spent by someone else's wrong passwords.
        "refresh": env.str("REFRESH_THROTTLE_RATE", default="60/hour"),
        "logout": env.str("LOGOUT_THROTTLE_RATE", default="30/hour"),
        # Sync, per account: an app pulls on launch, on resume and after each change, and pushes after each change
        # (README "Sync and input limits"). Well above that; a loop or a script is slowed down (429, Retry-After).
        "sync_pull": env.str("SYNC_PULL_THROTTLE_RATE", default="120/minute"),
        "sync_push": env.str("SYNC_PUSH_THROTTLE_RATE", default="60/minute"),
    },
    "UNAUTHENTICATED_USER": None,
    # The client address throttles and sign-in limits see: REMOTE_ADDR with 0; behind n trusted proxies that append
    # to X-Forwarded-For (docker-compose: 1), the address the outermost of them saw.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

# --- Her own account (issue 17 part 6): emails, invitations, password resets (README "Accounts and enrolment") ---
# EMAIL_URL: smtp+tls://user:password@host:587 (or smtp+ssl://, filemail:///path, consolemail://). The embedded run
# prints emails to the console; production sends through SMTP (localhost:25 unless set). Tests use Django's locmem.
globals().update(env.email_url("EMAIL_URL", default="smtp://localhost:25" if PRODUCTION else "consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BoneSync <no-reply@bonesync.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the links in the emails lead: the app's (universal-link) base; the one-time token travels in the fragment,
# which browsers and proxies do not send to any server or log.
BONESYNC_APP_URL = env.str("BONESYNC_APP_URL", default="http://localhost:8000/app").rstrip("/")
# The console's public URL: staff's password-reset links open it.
BONESYNC_CONSOLE_URL = env.str("BONESYNC_CONSOLE_URL", default="http://localhost:8000/console").rstrip("/")
INVITATION_TTL_HOURS = env.int("INVITATION_TTL_HOURS", default=72)
PASSWORD_RESET_TTL_MINUTES = env.int("PASSWORD_RESET_TTL_MINUTES", default=60)
# Wrong short codes an invitation or reset survives: the next wrong one revokes it (a new one must be sent).
ACCOUNT_CODE_MAX_FAILURES = env.int("ACCOUNT_CODE_MAX_FAILURES", default=5)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].update(
    {
        # Accepting an invitation or confirming a reset, per client address (each invitation also dies after
        # ACCOUNT_CODE_MAX_FAILURES wrong codes).
        "account_code": env.str("ACCOUNT_CODE_THROTTLE_RATE", default="20/hour"),
        # Reset requests per client address, and per email address asked about (whether or not it has an account).
        "password_reset": env.str("PASSWORD_RESET_THROTTLE_RATE", default="10/hour"),
        "password_reset_email": env.str("PASSWORD_RESET_EMAIL_THROTTLE_RATE", default="3/hour"),
    }
)

# The most records one sync push may carry (created + updated + deleted, over every table): a larger push is refused
# with 413 before any record is read. 400 days offline (the oldest a dose, intake or session may be) on a daily
# inhibitor, a weekly bisphosphonate, calcium twice a day, vitamin D and three sessions a week is about 1,850
# records; WatermelonDB apps can split a larger backlog. The largest accepted push takes seconds (README "Sync and
# input limits", bench sync_push), well inside the workers' 60 s timeout.
SYNC_MAX_PUSH_RECORDS = env.int("SYNC_MAX_PUSH_RECORDS", default=2_500)

# /api/schema/ and /api/docs/: public in development; in production only staff and admins signed in to the console
# (past their second factor) unless this is set (apps/accounts/api_docs.py).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=not PRODUCTION)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "SIGNING_KEY": SECRET_KEY,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "BoneSync API",
    "DESCRIPTION": (
        "Backend of BoneSync, the companion app for women on aromatase inhibitors who take bone-protecting "
        'medicines. Every 4xx answer has one shape: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ loads Swagger UI from this server (drf-spectacular-sidecar, pinned in requirements.lock), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "backend.roles.Role",
        "StaffRoleEnum": ["coordinator", "pharmacist"],
        "ScheduleStatusEnum": "apps.medications.models.ScheduleStatus",
        "DoseStatusEnum": "apps.medications.models.DoseStatus",
        "AlertStateEnum": "apps.alerts.models.AlertState",
        "AlertSeverityEnum": "apps.alerts.models.Severity",
        "ContactChannelEnum": "apps.profiles.models.ContactChannel",  # issue 14: a contact and a preferred channel
        "ContactOutcomeEnum": "apps.alerts.models.ContactOutcome",
        "FindingSeverityEnum": ["high", "moderate", "low"],
        "PlanStatusEnum": [("active", "Active"), ("stopped", "Stopped")],
        "SupplementUnitEnum": "apps.supplements.models.AmountUnit",
        "LabKindEnum": "apps.profiles.models.LabKind",
        "ExerciseKindEnum": "apps.exercise.models.ExerciseKind",
        "RecurrenceUnitEnum": "apps.medications.models.RecurrenceUnit",
        "AppointmentKindEnum": "apps.appointments.models.AppointmentKind",
        "AppointmentStatusEnum": "apps.appointments.models.AppointmentStatus",
        "AiStopReasonEnum": "apps.profiles.models.AiStopReason",  # issue 15: the stop's input and the profile's
        "AiPlannedYearsEnum": "apps.profiles.models.AiPlannedYears",
    },
}

# Celery: Redis in production and CI; an embedded filesystem broker (no server) for a first run.
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR),
        "data_folder_out": str(_BROKER_DIR),
        "store_processed": False,
        "control_folder": str(_BROKER_DIR / "control"),  # broadcasts (ping, inspect); else ./control in any cwd
    }
else:
    # Redis down must not hold a web request for long: connecting gives up after 2 s.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
# Enqueueing from a request (after commit) retries once, briefly: every enqueued job is also a periodic sweep over
# the database, so a message that could not be published is caught up when the broker returns.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Periodic jobs: name -> task and schedule. Each also runs by hand: `python manage.py runjob NAME`.
CELERY_BEAT_SCHEDULE = {
    "flush_expired_tokens": {"task": "accounts.flush_expired_tokens", "schedule": crontab(hour=3, minute=17)},
    # Issue 17: invitation and reset emails still unsent (broker or mail server down when they were due).
    "send_unsent_account_emails": {"task": "accounts.send_unsent_account_emails", "schedule": crontab(minute="*/5")},
    # Cheap when idle (an index on the next check instant); states change at patients' local midnights.
    "injection_watch": {"task": "alerts.injection_watch", "schedule": crontab(minute="*/5")},
    # Cheap when idle (an index on the next judgement instant): alerts follow dose writes within minutes, and each
    # patient's stored 90-day figure is refreshed once her day has turned (the list reads tomorrow's from midnight).
    "low_adherence": {"task": "alerts.low_adherence_watch", "schedule": crontab(minute="2-59/5")},
    # AP1: an injection or infusion appointment whose local day passed with no dose recorded (cheap when idle: an
    # index on the check instant).
    "appointment_watch": {"task": "appointments.appointment_watch", "schedule": crontab(minute="4-59/5")},
    # Reminders (issue 5): a rolling 14-day horizon kept current, and a dispatcher every minute.
    "materialise_reminders": {"task": "reminders.materialise", "schedule": crontab(minute="*/10")},
    "dispatch_reminders": {"task": "reminders.dispatch", "schedule": crontab()},
    "push_staff_alerts": {"task": "reminders.push_staff_alerts", "schedule": crontab(minute="*/5")},
    # Sync: forget pulls older than 90 days (an app coming back with one gets a replacement sync).
    "prune_sync_pulls": {"task": "sync.prune_pulls", "schedule": crontab(hour=3, minute=37)},
    # SMART Backend Services: forget spent assertion ids and access tokens once expired (both refused by then).
    "fhir_smart_cleanup": {"task": "fhir.smart_cleanup", "schedule": crontab(minute="11-59/15")},
    # FHIR Bulk Data export: delete expired files and jobs, fail exports whose worker was lost, re-send unclaimed ones.
    "fhir_export_cleanup": {"task": "fhir.bulk_cleanup", "schedule": crontab(minute="7-59/15")},
}

# SMART Backend Services (issue 16, apps/fhir): a system's access token lives this many seconds (SMART recommends
# five minutes); FHIR_TOKEN_URL is the token endpoint's public URL, which client assertions name as `aud` (empty:
# the URL this server is reached at, e.g. https://host/fhir/R4/auth/token).
FHIR_ACCESS_TOKEN_SECONDS = env.int("FHIR_ACCESS_TOKEN_SECONDS", default=300)
FHIR_TOKEN_URL = env.str("FHIR_TOKEN_URL", default="")
# SMART token requests (apps/fhir/token_limits.py): per client address (every POST), per client (verified assertions);
# DRF rate syntax, e.g. "30/minute"; empty: no limit. An EHR needs one token per FHIR_ACCESS_TOKEN_SECONDS.
FHIR_TOKEN_ADDRESS_RATE = env.str("FHIR_TOKEN_ADDRESS_RATE", default="60/minute")
FHIR_TOKEN_CLIENT_RATE = env.str("FHIR_TOKEN_CLIENT_RATE", default="30/minute")
for _name in ("FHIR_TOKEN_ADDRESS_RATE", "FHIR_TOKEN_CLIENT_RATE"):
    if globals()[_name] and not re.fullmatch(r"[0-9]+/(s|m|h|d)[a-z]*", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} is a rate like 30/minute (or empty: no limit)")

# FHIR Bulk Data export (README "Bulk Data export"): the NDJSON files go to the `fhir_exports` storage (a directory
# by default; any Django storage, e.g. S3, may be configured instead), are kept FHIR_EXPORT_RETENTION_HOURS after the
# export completes, and hold at most FHIR_EXPORT_FILE_MAX_RESOURCES resources each. FHIR_EXPORT_QUEUE: the Celery
# queue of export tasks (empty: the default queue; a queue of their own keeps long exports away from reminders).
FHIR_EXPORT_DIR = Path(env.str("FHIR_EXPORT_DIR", default=str(VAR_DIR / "fhir-exports")))
STORAGES["fhir_exports"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(FHIR_EXPORT_DIR), "directory_permissions_mode": 0o700, "file_permissions_mode": 0o600},
}
FHIR_EXPORT_RETENTION_HOURS = env.int("FHIR_EXPORT_RETENTION_HOURS", default=24)
FHIR_EXPORT_FILE_MAX_RESOURCES = env.int("FHIR_EXPORT_FILE_MAX_RESOURCES", default=100_000)
FHIR_EXPORT_CHUNK_SIZE = env.int("FHIR_EXPORT_CHUNK_SIZE", default=2_000)
FHIR_EXPORT_QUEUE = env.str("FHIR_EXPORT_QUEUE", default="")
# A running export whose worker wrote no progress for this long was lost (killed, restarted): it is marked failed.
FHIR_EXPORT_STALE_MINUTES = env.int("FHIR_EXPORT_STALE_MINUTES", default=15)

# A dispatcher's claim on a batch lapses after this: a killed worker's reminders are retaken then (and may be pushed
# twice, at most once more each, if the provider had them before the kill).
REMINDER_CLAIM_SECONDS = env.int("REMINDER_CLAIM_SECONDS", default=120)

# Refused lookups of patient data are audit-logged (`denied`); this many from one account within this many minutes
# raises a `burst` event and a WARNING (backend/audit.py), once per window.
AUDIT_DENIED_BURST = env.int("AUDIT_DENIED_BURST", default=20)
AUDIT_DENIED_WINDOW_MINUTES = env.int("AUDIT_DENIED_WINDOW_MINUTES", default=10)

# Push providers: an empty value switches that provider off (its sends fail "not configured", recorded).
FIREBASE_CREDENTIALS = env.str("FIREBASE_CREDENTIALS", default="")  # service-account JSON path
PUSH_NOTIFICATIONS_SETTINGS = {
    "UPDATE_ON_DUPLICATE_REG_ID": True,
    "UNIQUE_REG_ID": True,
    "FCM_MAX_RECIPIENTS": 500,  # send_each's limit
    "APNS_AUTH_KEY_PATH": env.str("APNS_AUTH_KEY_PATH", default=""),
    "APNS_AUTH_KEY_ID": env.str("APNS_AUTH_KEY_ID", default=""),
    "APNS_TEAM_ID": env.str("APNS_TEAM_ID", default=""),
    "APNS_TOPIC": env.str("APNS_TOPIC", default=""),  # iOS bundle id
    "APNS_USE_SANDBOX": env.bool("APNS_USE_SANDBOX", default=not PRODUCTION),
    "WP_PRIVATE_KEY": env.str("WP_PRIVATE_KEY", default=""),  # VAPID private key
    "WP_CLAIMS": {"sub": env.str("WP_CLAIMS_SUB", default="mailto:push@bonesync.invalid")},
    "WP_ERROR_TIMEOUT": env.int("WP_TIMEOUT_SECONDS", default=5),
}
# The server POSTs to registered WebPush endpoints: only known push services, never arbitrary hosts.
WEBPUSH_ALLOWED_HOST_SUFFIXES = env.list(
    "WEBPUSH_ALLOWED_HOST_SUFFIXES",
    default=["fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com"],
)

# Security headers; HTTPS-only behaviour in production.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
