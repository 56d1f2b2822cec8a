"""The apps import cleanly in any order (as a worker, a shell or the web server would)."""
import importlib

import pytest

from tests.support import fresh_modules

pytestmark = pytest.mark.unit


@pytest.mark.bug_s5
def test_candidate_utils_imports_first():
    with fresh_modules("apps.candidates.utils", "apps.jobs.utils"):
        utils = importlib.import_module("apps.candidates.utils")
        assert utils.skill_slug("Node.js") == "node-js"


@pytest.mark.bug_s5
def test_job_utils_imports_first():
    with fresh_modules("apps.candidates.utils", "apps.jobs.utils"):
        utils = importlib.import_module("apps.jobs.utils")
        assert utils.parse_requirements("python:4*0.5, sql") == [("python", 0.5, 4), ("sql", 0.5, 3)]


@pytest.mark.bug_s5
def test_candidate_models_import_in_a_fresh_process():
    from tests.support import run_python

    done = run_python(
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='talentflow.settings.testing'; django.setup();"
        "from apps.candidates.models import Candidate; from apps.jobs.utils import requirement_summary;"
        "print(requirement_summary([('python', 1.0, 3)]))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "python (100%, intermediate)"


@pytest.mark.bug_s5
def test_requirement_summary_uses_candidate_labels():
    with fresh_modules("apps.candidates.utils", "apps.jobs.utils"):
        jobs_utils = importlib.import_module("apps.jobs.utils")
        assert jobs_utils.requirement_summary([("python", 0.6, 4), ("sql", 0.4, 5)]) == "python (60%, advanced), sql (40%, expert)"
