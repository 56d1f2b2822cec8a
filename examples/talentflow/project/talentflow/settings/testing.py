"""Settings for the test suite: fast hashing, eager Celery, private services.

Connection settings come from ``DATABASE_URL`` and ``REDIS_URL`` (see
``scripts/services.sh``).
"""
from .base import *  # noqa: F401,F403
import os

SECRET_KEY = "testing-secret-key-not-for-production"
JWT["SIGNING_KEY"] = "testing-jwt-signing-key-0123456789abcdef"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline in tests; the Celery worker that a test starts sets
# TALENTFLOW_CELERY_WORKER=1 so that it really stores results.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("TALENTFLOW_CELERY_WORKER") != "1"
CELERY_TASK_EAGER_PROPAGATES = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
