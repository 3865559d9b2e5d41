"""Startup with real `manage.py` processes: bad configuration stops it with a message naming the variable (and no
traceback); good configuration passes `check` and reaches the settings as typed values."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.project.conftest import manage, project_env

# (id, environment overrides (None unsets), the variable the message must name)
BAD_CONFIGURATIONS = [
    ("debug-word", {"DEBUG": "maybe"}, "DEBUG"),
    ("debug-number", {"DEBUG": "2"}, "DEBUG"),
    ("timeout-word", {"WEBHOOK_TIMEOUT": "ten"}, "WEBHOOK_TIMEOUT"),
    ("timeout-zero", {"WEBHOOK_TIMEOUT": "0"}, "WEBHOOK_TIMEOUT"),
    ("schedule-negative", {"WEBHOOK_RETRY_SCHEDULE": "5,-1"}, "WEBHOOK_RETRY_SCHEDULE"),
    ("schedule-word", {"WEBHOOK_RETRY_SCHEDULE": "5,x"}, "WEBHOOK_RETRY_SCHEDULE"),
    ("jitter-negative", {"WEBHOOK_RETRY_JITTER": "-0.2"}, "WEBHOOK_RETRY_JITTER"),
    ("disable-after-zero", {"WEBHOOK_DISABLE_AFTER": "0"}, "WEBHOOK_DISABLE_AFTER"),
    ("lease-equals-timeout", {"WEBHOOK_TIMEOUT": "30", "WEBHOOK_LEASE_SECONDS": "30"}, "WEBHOOK_LEASE_SECONDS"),
    ("lease-below-timeout", {"WEBHOOK_TIMEOUT": "90"}, "WEBHOOK_LEASE_SECONDS"),
    ("public-url-ftp", {"PUBLIC_BASE_URL": "ftp://cms.example.com"}, "PUBLIC_BASE_URL"),
    ("public-url-no-scheme", {"PUBLIC_BASE_URL": "cms.example.com"}, "PUBLIC_BASE_URL"),
    ("public-url-malformed", {"PUBLIC_BASE_URL": "http://[::1"}, "PUBLIC_BASE_URL"),
    ("processor-url-no-scheme", {"PROCESSOR_URL": "processor.example.com/jobs"}, "PROCESSOR_URL"),
    ("processor-url-bad-port", {"PROCESSOR_URL": "https://processor.example.com:https/"}, "PROCESSOR_URL"),
    ("processor-secret-short", {"PROCESSOR_SECRET": "too-short"}, "PROCESSOR_SECRET"),
    ("processor-ips-hostname", {"PROCESSOR_ALLOWED_IPS": "10.0.0.0/8,processor.example.com"},
     "PROCESSOR_ALLOWED_IPS"),
    ("renditions-unknown", {"PROCESSING_RENDITIONS": "720p,4k"}, "PROCESSING_RENDITIONS"),
    ("renditions-empty", {"PROCESSING_RENDITIONS": ","}, "PROCESSING_RENDITIONS"),
    ("thumbnail-timestamp", {"THUMBNAIL_TIMESTAMP": "ten seconds"}, "THUMBNAIL_TIMESTAMP"),
    ("throttle-word", {"ANALYTICS_THROTTLE": "lots"}, "ANALYTICS_THROTTLE"),
    ("throttle-zero", {"ANALYTICS_THROTTLE": "0/min"}, "ANALYTICS_THROTTLE"),
    ("storage-unknown", {"STORAGE": "ftp"}, "STORAGE"),
    ("storage-s3-without-bucket", {"STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
    ("max-upload-zero", {"MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES"),
    ("max-upload-units", {"MAX_UPLOAD_BYTES": "5GB"}, "MAX_UPLOAD_BYTES"),
    ("redis-url-scheme", {"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL"),
    ("redis-url-malformed", {"REDIS_URL": "redis://[::1:6379/0"}, "REDIS_URL"),
    ("database-url-garbage", {"DATABASE_URL": "garbage"}, "DATABASE_URL"),
    ("database-url-bad-port", {"DATABASE_URL": "postgres://app@db.example.com:port/app"}, "DATABASE_URL"),
    ("admins-not-an-address", {"ADMINS": "ops@example.com,nobody"}, "ADMINS"),
    ("log-level-unknown", {"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
    ("workers-zero", {"WORKER_PROCESSES": "0"}, "WORKER_PROCESSES"),
    ("email-tls-and-ssl", {"EMAIL_USE_TLS": "yes", "EMAIL_USE_SSL": "yes"}, "EMAIL_USE_SSL"),
]

GOOD = {
    "DEBUG": "No",
    "ALLOWED_HOSTS": "cms.example.com",
    "PUBLIC_BASE_URL": "https://cms.example.com/",
    "PROCESSOR_URL": "https://processor.example.com:8443/jobs",
    "PROCESSOR_ALLOWED_IPS": "10.0.0.0/8, 192.0.2.7",
    "WEBHOOK_RETRY_SCHEDULE": "60,300,900,1800",
    "WEBHOOK_RETRY_JITTER": "0",
    "WEBHOOK_TIMEOUT": "5",
    "WEBHOOK_LEASE_SECONDS": "5.5",
    "WEBHOOK_DISABLE_AFTER": "3",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "YES",
    "PROCESSING_RENDITIONS": "720p,240p",
    "THUMBNAIL_TIMESTAMP": "00:01:02.5",
    "ANALYTICS_THROTTLE": "30/second",
    "MAX_UPLOAD_BYTES": "1048576",
    "ADMINS": "ops@example.com, oncall@example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/3",
    "LOG_LEVEL": "warning",
}

PRINT_SETTINGS = """
import json
from django.conf import settings
from django.core.files.storage import storages
names = ["DEBUG", "PUBLIC_BASE_URL", "PROCESSOR_URL", "WEBHOOK_RETRY_SCHEDULE", "WEBHOOK_RETRY_JITTER",
         "WEBHOOK_TIMEOUT", "WEBHOOK_LEASE_SECONDS", "WEBHOOK_DISABLE_AFTER", "WEBHOOK_ALLOW_PRIVATE_TARGETS",
         "PROCESSING_RENDITIONS", "THUMBNAIL_TIMESTAMP", "MAX_UPLOAD_BYTES", "ADMINS", "ALLOWED_HOSTS", "STORAGES"]
values = {name: getattr(settings, name) for name in names}
values["PROCESSOR_ALLOWED_IPS"] = [str(network) for network in settings.PROCESSOR_ALLOWED_IPS]
values["THROTTLE"] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["analytics"]
values["BROKER"] = sorted(key for key in ("redis", "orm") if key in settings.Q_CLUSTER)
values["CACHE"] = settings.CACHES["default"]["BACKEND"]
values["LOGGER_LEVEL"] = settings.LOGGING["loggers"]["webhooks_app"]["level"]
storage = storages["default"]
values["default_storage"] = type(storage).__module__ + "." + type(storage).__name__
if settings.STORAGE == "s3":
    values["bucket"] = storage.bucket_name
    values["file_url"] = storage.url("videos/demo.mp4")
print("SETTINGS=" + json.dumps(values))
"""


def printed_settings(result) -> dict:
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("SETTINGS=")]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0].removeprefix("SETTINGS="))


@pytest.fixture(scope="module")
def bad_outcomes(tmp_path_factory) -> dict:
    """`manage.py check` for every bad configuration, run side by side (each is its own process)."""
    directory = tmp_path_factory.mktemp("bad-config")

    def run(case):
        case_id, overrides, _ = case
        return case_id, manage("check", env=project_env(directory, **overrides))

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, BAD_CONFIGURATIONS))


@pytest.mark.parametrize("case_id, overrides, variable", BAD_CONFIGURATIONS, ids=[c[0] for c in BAD_CONFIGURATIONS])
def test_bad_configuration_stops_startup_naming_the_variable(bad_outcomes, case_id, overrides, variable):
    result = bad_outcomes[case_id]
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert result.stderr.startswith("Configuration error: "), output
    assert variable in result.stderr, output
    assert "System check identified no issues" not in output


def test_good_configuration_passes_check(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "ERROR", env=project_env(tmp_path, **GOOD))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_settings_hold_the_typed_values_from_the_environment(tmp_path):
    values = printed_settings(manage("shell", "--no-imports", "-c", PRINT_SETTINGS, env=project_env(tmp_path, **GOOD)))
    assert values["DEBUG"] is False
    assert values["WEBHOOK_ALLOW_PRIVATE_TARGETS"] is True
    assert values["PUBLIC_BASE_URL"] == "https://cms.example.com"
    assert values["PROCESSOR_URL"] == "https://processor.example.com:8443/jobs"
    assert values["PROCESSOR_ALLOWED_IPS"] == ["10.0.0.0/8", "192.0.2.7/32"]
    assert values["WEBHOOK_RETRY_SCHEDULE"] == [60, 300, 900, 1800]
    assert (values["WEBHOOK_RETRY_JITTER"], values["WEBHOOK_TIMEOUT"], values["WEBHOOK_LEASE_SECONDS"]) == (0, 5, 5.5)
    assert values["WEBHOOK_DISABLE_AFTER"] == 3
    assert values["PROCESSING_RENDITIONS"] == ["720p", "240p"]
    assert values["THUMBNAIL_TIMESTAMP"] == "00:01:02.5"
    assert values["THROTTLE"] == "30/second"
    assert values["MAX_UPLOAD_BYTES"] == 1048576
    assert values["ADMINS"] == [["ops@example.com", "ops@example.com"], ["oncall@example.com", "oncall@example.com"]]
    assert values["ALLOWED_HOSTS"] == ["cms.example.com"]
    assert values["BROKER"] == ["redis"]
    assert values["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert values["LOGGER_LEVEL"] == "WARNING"
    assert values["default_storage"] == "django.core.files.storage.filesystem.FileSystemStorage"


def test_defaults_use_the_embedded_database_broker_and_the_documented_values(tmp_path):
    values = printed_settings(manage("shell", "--no-imports", "-c", PRINT_SETTINGS, env=project_env(tmp_path)))
    assert values["DEBUG"] is False
    assert values["WEBHOOK_ALLOW_PRIVATE_TARGETS"] is False
    assert values["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    assert values["PROCESSOR_URL"] is None
    assert values["PROCESSOR_ALLOWED_IPS"] == []
    assert values["WEBHOOK_RETRY_SCHEDULE"] == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    assert (values["WEBHOOK_RETRY_JITTER"], values["WEBHOOK_TIMEOUT"], values["WEBHOOK_LEASE_SECONDS"]) == (0.2, 10, 60)
    assert values["WEBHOOK_DISABLE_AFTER"] == 5
    assert values["PROCESSING_RENDITIONS"] == ["1080p", "720p", "480p"]
    assert values["THUMBNAIL_TIMESTAMP"] == "00:00:10"
    assert values["THROTTLE"] == "600/min"
    assert values["MAX_UPLOAD_BYTES"] == 5368709120
    assert values["ADMINS"] == []
    assert values["BROKER"] == ["orm"]


def test_s3_storage_with_a_bucket_uses_the_s3_backend(tmp_path):
    env = project_env(tmp_path, STORAGE="S3", AWS_STORAGE_BUCKET_NAME="mediahooks-media",
                      AWS_S3_ENDPOINT_URL="http://127.0.0.1:9", AWS_S3_REGION_NAME="us-east-1",
                      AWS_ACCESS_KEY_ID="test-key", AWS_SECRET_ACCESS_KEY="test-secret")
    values = printed_settings(manage("shell", "--no-imports", "-c", PRINT_SETTINGS, env=env))
    assert values["STORAGES"]["default"] == {"BACKEND": "storages.backends.s3.S3Storage"}
    assert values["default_storage"] == "storages.backends.s3.S3Storage"
    assert values["bucket"] == "mediahooks-media"
    # Built locally from the endpoint and the bucket: nothing is uploaded, so no S3 server is needed.
    assert values["file_url"] == "http://127.0.0.1:9/mediahooks-media/videos/demo.mp4"
