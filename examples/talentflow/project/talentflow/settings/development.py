"""Local development: services from ``scripts/services.sh``, DEBUG from DJANGO_DEBUG."""
from .base import *  # noqa: F401,F403
from .base import env_bool

# Developers get the debug pages unless they turn them off.
DEBUG = env_bool("DJANGO_DEBUG", True)

INTERNAL_IPS = ["127.0.0.1"]
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
