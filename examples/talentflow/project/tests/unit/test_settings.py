"""Settings as each environment loads them, from a fresh import under a given environment."""
import importlib
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support import load_settings

pytestmark = pytest.mark.unit

PROD_ENV = {"TALENTFLOW_ENV": "production", "DJANGO_SECRET_KEY": "s3cr3t-prod-key-0123456789", "DJANGO_ALLOWED_HOSTS": "talentflow.example"}


@pytest.mark.bug_s8
@pytest.mark.parametrize("raw", ["false", "False", "0", "off", "no"])
def test_debug_false_strings_mean_false(raw, monkeypatch):
    conf = load_settings("talentflow.settings.base", {"DJANGO_DEBUG": raw}, monkeypatch)
    assert conf["DEBUG"] is False


@pytest.mark.parametrize("raw", ["true", "1", "YES", " on "])
def test_debug_true_strings_mean_true(raw, monkeypatch):
    conf = load_settings("talentflow.settings.development", {"DJANGO_DEBUG": raw}, monkeypatch)
    assert conf["DEBUG"] is True


@pytest.mark.bug_s8
def test_debug_rejects_a_typo(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        load_settings("talentflow.settings.base", {"DJANGO_DEBUG": "ture"}, monkeypatch)


def test_debug_defaults_to_false(monkeypatch):
    conf = load_settings("talentflow.settings.base", {}, monkeypatch)
    assert conf["DEBUG"] is False


@pytest.mark.bug_d1
def test_production_never_debug(monkeypatch):
    conf = load_settings("talentflow.settings", PROD_ENV, monkeypatch)
    assert conf["DEBUG"] is False


@pytest.mark.bug_d1
def test_production_ignores_debug_variable(monkeypatch):
    conf = load_settings("talentflow.settings", {**PROD_ENV, "DJANGO_DEBUG": "true"}, monkeypatch)
    assert conf["DEBUG"] is False


@pytest.mark.bug_d1
def test_production_cookies_are_secure_and_hosts_restricted(monkeypatch):
    conf = load_settings("talentflow.settings", PROD_ENV, monkeypatch)
    assert conf["SESSION_COOKIE_SECURE"] is True and conf["CSRF_COOKIE_SECURE"] is True
    assert conf["ALLOWED_HOSTS"] == ["talentflow.example"]
    assert conf["DEBUG"] is False


@pytest.mark.bug_d1
def test_production_selected_module_is_production(monkeypatch):
    conf = load_settings("talentflow.settings", PROD_ENV, monkeypatch)
    assert conf["TALENTFLOW_ENV"] == "production"
    assert conf["SECURE_SSL_REDIRECT"] is True
    assert conf["DEBUG"] is False and conf["SECURE_HSTS_SECONDS"] > 0


def test_production_requires_secret_key(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        load_settings("talentflow.settings", {"TALENTFLOW_ENV": "production", "DJANGO_ALLOWED_HOSTS": "x.example"}, monkeypatch)


def test_unknown_environment_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="staging"):
        load_settings("talentflow.settings", {"TALENTFLOW_ENV": "staging"}, monkeypatch)


def test_development_is_the_default(monkeypatch):
    conf = load_settings("talentflow.settings", {}, monkeypatch)
    assert conf["TALENTFLOW_ENV"] == "development"
    assert conf["DEBUG"] is True
    assert conf["EMAIL_BACKEND"].endswith("console.EmailBackend")


def test_database_url_is_parsed(monkeypatch):
    conf = load_settings(
        "talentflow.settings.base", {"DATABASE_URL": "postgres://u%40x:p%2Fw@db.internal:6543/tf_main"}, monkeypatch
    )
    db = conf["DATABASES"]["default"]
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == ("u@x", "p/w", "db.internal", "6543", "tf_main")


def test_database_url_scheme_checked(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        load_settings("talentflow.settings.base", {"DATABASE_URL": "mysql://u@h/db"}, monkeypatch)


def test_conn_max_age_must_be_an_integer(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DB_CONN_MAX_AGE"):
        load_settings("talentflow.settings.base", {"DB_CONN_MAX_AGE": "sixty"}, monkeypatch)


def test_allowed_hosts_list(monkeypatch):
    conf = load_settings("talentflow.settings.base", {"DJANGO_ALLOWED_HOSTS": "a.example, b.example,,"}, monkeypatch)
    assert conf["ALLOWED_HOSTS"] == ["a.example", "b.example"]


# ------------------------------------------------------------------ manage.py


def _manage_settings_module(monkeypatch):
    import django.core.management

    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    seen = {}
    monkeypatch.setattr(django.core.management, "execute_from_command_line", lambda argv: seen.setdefault("argv", argv))
    monkeypatch.setattr("sys.argv", ["manage.py", "check"])
    import manage

    manage.main()
    assert seen["argv"] == ["manage.py", "check"]
    return os.environ["DJANGO_SETTINGS_MODULE"]


@pytest.mark.bug_s10
def test_manage_py_settings_module_imports(monkeypatch):
    module = _manage_settings_module(monkeypatch)
    conf = load_settings(module, {}, monkeypatch)
    assert "apps.candidates" in conf["INSTALLED_APPS"]


@pytest.mark.bug_s10
def test_manage_py_follows_talentflow_env(monkeypatch):
    module = _manage_settings_module(monkeypatch)
    conf = load_settings(module, PROD_ENV, monkeypatch)
    assert conf["DEBUG"] is False and conf["ALLOWED_HOSTS"] == ["talentflow.example"]
    conf = load_settings(module, {"TALENTFLOW_ENV": "testing"}, monkeypatch)
    assert conf["CELERY_TASK_ALWAYS_EAGER"] is True


@pytest.mark.bug_s10
def test_manage_py_check_runs():
    from tests.support import run_python

    done = run_python("import runpy, sys; sys.argv = ['manage.py', 'check']; runpy.run_path('manage.py', run_name='__main__')")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.bug_s10
def test_manage_py_respects_explicit_settings(monkeypatch):
    import django.core.management

    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "talentflow.settings.testing")
    monkeypatch.setattr(django.core.management, "execute_from_command_line", lambda argv: None)
    import manage

    manage.main()
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "talentflow.settings.testing"
    importlib.import_module(_manage_settings_module(monkeypatch))
