"""Settings package.

``DJANGO_SETTINGS_MODULE=talentflow.settings`` selects the module named by the
``TALENTFLOW_ENV`` environment variable: ``development`` (the default),
``production`` or ``testing``. A module can also be named directly, e.g.
``talentflow.settings.testing``.
"""
import os

from django.core.exceptions import ImproperlyConfigured

TALENTFLOW_ENV = os.environ.get("TALENTFLOW_ENV", "development").strip().lower()

if TALENTFLOW_ENV == "testing":
    from .testing import *  # noqa: F401,F403
elif TALENTFLOW_ENV in ("development", "production"):
    if TALENTFLOW_ENV == "production":
        from .production import *  # noqa: F401,F403
    from .development import *  # noqa: F401,F403
else:
    raise ImproperlyConfigured(
        f"TALENTFLOW_ENV={TALENTFLOW_ENV!r}: expected development, production or testing"
    )
