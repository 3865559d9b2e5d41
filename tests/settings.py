"""Test settings: the project's settings, plus a synchronous task queue and throwaway media and test DB files.

The variables below are only defaults: DATABASE_URL and REDIS_URL from the environment still choose the
backends, so the same suite runs on SQLite + ORM broker and on PostgreSQL + Redis.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "mediahooks-tests-not-secret")
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
os.environ.setdefault("WEBHOOK_RETRY_JITTER", "0")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="mediahooks-test-media-"))
os.environ.setdefault("Q_CLUSTER_NAME", "mediahooks-tests")

from cms.settings import *  # noqa: E402,F403
from cms.settings import DATABASES, Q_CLUSTER, VAR_DIR  # noqa: E402

# django-q2 reads Q_CLUSTER once, at import: tasks run inline, in the test process (django-q2's test mode).
Q_CLUSTER = {**Q_CLUSTER, "sync": True}

# A file (not :memory:) for SQLite, so worker subprocesses started by tests share the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # Threads of the live server and of the tests must not keep sessions open: the test database is
    # dropped at the end.
    DATABASES["default"]["CONN_MAX_AGE"] = 0

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
