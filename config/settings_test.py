"""Settings for the test suite: the real settings with fast, isolated defaults.

DATABASE_URL still comes from the environment, so the same suite runs on PostgreSQL.
"""

import os
import tempfile

os.environ.setdefault("CACHE_URL", "locmem")
os.environ.setdefault("EMAIL_BACKEND", "memory")
os.environ.setdefault("STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks")
os.environ.setdefault("KNOTWORK_VAR_DIR", tempfile.mkdtemp(prefix="knotwork-test-"))
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
# Reminder tests must not depend on the hour they run at; tests of quiet hours set their own.
os.environ.setdefault("SMS_QUIET_HOURS", "")

from config.settings import *  # noqa: E402,F403
from config.settings import PASSWORD_HASHERS  # noqa: E402

# Argon2 is deliberately slow; the suite does not test its strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS}  # noqa: F405

# A file, not SQLite's shared in-memory database: the booking concurrency tests need real
# locking between connections (pytest-xdist gives each worker its own file).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["KNOTWORK_VAR_DIR"], "test.sqlite3")}  # noqa: F405

# WhiteNoise warns about a missing STATIC_ROOT on every new handler; tests never collect static.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
