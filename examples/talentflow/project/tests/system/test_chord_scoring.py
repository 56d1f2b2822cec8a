"""Scoring every application of a job in parallel: a Celery chord on a real
worker with the Redis result backend, driven through the REST API."""
import pytest

from apps.jobs import tasks as job_tasks
from apps.jobs.matching import apply_to_job
from apps.jobs.models import Application

pytestmark = pytest.mark.system


@pytest.fixture
def job_with_applicants(company, make_job, make_candidate):
    job = make_job(company, requirements=[("python", 0.6, 4), ("sql", 0.4, 3)], min_match_score=0.5)
    people = {
        "expert": make_candidate(company, skills={"python": 5, "sql": 4}),
        "half": make_candidate(company, skills={"python": 2, "sql": 3}),
        "none": make_candidate(company, skills={"go": 5}),
    }
    apps = {k: apply_to_job(job.pk, c.pk) for k, c in people.items()}
    Application.objects.filter(job=job).update(match_score=None)
    return job, apps


@pytest.mark.bug_b2
def test_score_endpoint_returns_every_applications_score(job_with_applicants, recruiter, api, real_worker, db):
    job, apps = job_with_applicants
    response = api(recruiter).post(f"/api/jobs/{job.pk}/score/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["progress"] == {"total": 3, "completed": 3}
    scores = body["scores"]
    assert scores == {str(apps["expert"].pk): 1.0, str(apps["half"].pk): pytest.approx(0.7), str(apps["none"].pk): 0.0}


@pytest.mark.bug_b2
def test_score_endpoint_ranks_and_qualifies(job_with_applicants, recruiter, api, real_worker, db):
    job, apps = job_with_applicants
    body = api(recruiter).post(f"/api/jobs/{job.pk}/score/").json()
    assert body["progress"]["completed"] == 3
    assert body["ranking"] == [apps["expert"].pk, apps["half"].pk, apps["none"].pk]
    assert body["qualified"] == [apps["expert"].pk, apps["half"].pk]


@pytest.mark.bug_b2
def test_scores_are_stored_and_listed(job_with_applicants, recruiter, api, real_worker, db):
    job, apps = job_with_applicants
    client = api(recruiter)
    run = client.post(f"/api/jobs/{job.pk}/score/").json()
    progress = client.get(f"/api/jobs/{job.pk}/scoring/{run['scoring_id']}/").json()
    assert progress["scores"] == {str(apps["expert"].pk): 1.0, str(apps["half"].pk): pytest.approx(0.7), str(apps["none"].pk): 0.0}
    listed = client.get(f"/api/jobs/{job.pk}/applications/").json()
    assert [a["id"] for a in listed] == [apps["expert"].pk, apps["half"].pk, apps["none"].pk]
    assert [a["match_score"] for a in listed] == [1.0, pytest.approx(0.7), 0.0]


@pytest.mark.bug_b2
def test_chord_result_reaches_the_callback(job_with_applicants, real_worker, db):
    job, apps = job_with_applicants
    result = job_tasks.start_scoring(job)
    outcome = result.get(timeout=30)
    header = result.parent.join(timeout=10)
    assert sorted(r["application_id"] for r in header) == sorted(a.pk for a in apps.values())
    assert outcome["job_id"] == job.pk
    assert len(outcome["scores"]) == 3
    assert None not in outcome["scores"].values()


@pytest.mark.bug_b2
def test_header_results_are_kept_for_the_callback(job_with_applicants, real_worker, db):
    """Each header task's own result is retrievable from the backend."""
    job, apps = job_with_applicants
    payload = job_tasks.scoring_payloads(job)[0]
    result = job_tasks.score_application.apply_async(args=[payload])
    assert result.get(timeout=10) == {"application_id": apps["expert"].pk, "score": 1.0}


def test_scoring_a_job_without_applications(company, make_job, recruiter, api, real_worker, db):
    job = make_job(company, requirements=[("python", 1.0, 3)])
    body = api(recruiter).post(f"/api/jobs/{job.pk}/score/").json()
    assert body == {"job_id": job.pk, "scores": {}, "ranking": [], "qualified": []}


def test_scoring_run_of_another_job_is_not_found(job_with_applicants, company, make_job, recruiter, api, real_worker, db):
    job, _ = job_with_applicants
    client = api(recruiter)
    run = client.post(f"/api/jobs/{job.pk}/score/").json()
    other = make_job(company, title="Other")
    assert client.get(f"/api/jobs/{other.pk}/scoring/{run['scoring_id']}/").status_code == 404
    assert client.get(f"/api/jobs/{job.pk}/scoring/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_viewer_cannot_start_scoring(job_with_applicants, viewer, api, db):
    job, _ = job_with_applicants
    assert api(viewer).post(f"/api/jobs/{job.pk}/score/").status_code == 403
