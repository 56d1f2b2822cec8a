"""Two users hitting the API at the same moment. Each request runs in its own
thread with its own database connection; the interleaving that matters is
forced at a named checkpoint (see ``tests.support.race``), never left to luck.
Also the scheduled work as the API reports it."""
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.oauth import issue_tokens
from apps.analytics.models import PipelineSnapshot, ReportRun
from apps.candidates.models import Candidate
from apps.jobs.matching import apply_to_job
from apps.jobs.models import Application
from tests.support import committed_db, race

pytestmark = pytest.mark.system


def _post(api, user, path, body=None):
    def run():
        response = api(user).post(path, body or {}, format="json")
        return response.status_code, response.json() if response.content else None
    return run


@pytest.mark.bug_a3
@committed_db()
def test_two_recruiters_fill_the_last_seat(company, recruiter, make_user, make_job, make_candidate, api):
    other = make_user(company, "recruiter", "rob")
    job = make_job(company, max_applications=1)
    c1, c2 = make_candidate(company), make_candidate(company)
    a, b = race(_post(api, recruiter, f"/api/jobs/{job.pk}/apply/", {"candidate": c1.pk}),
                _post(api, other, f"/api/jobs/{job.pk}/apply/", {"candidate": c2.pk}),
                "jobs.apply.after_limit_check")
    assert (a.error, b.error) == (None, None)
    assert sorted([a.result[0], b.result[0]]) == [201, 409]
    listed = api(recruiter).get(f"/api/jobs/{job.pk}/").json()
    assert listed["application_count"] == 1


@pytest.mark.bug_c1
@committed_db()
def test_two_tabs_refreshing_at_once_stay_logged_in(recruiter):
    raw = issue_tokens(recruiter)["refresh"]

    def tab():
        response = APIClient().post("/api/auth/token/refresh/", {"refresh": raw}, format="json")
        return response.status_code, response.json()

    a, b = race(tab, tab, "accounts.refresh.after_read")
    assert (a.result[0], b.result[0]) == (200, 200), (a.result, b.result, a.error, b.error)
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {b.result[1]['access']}")
    assert me.get("/api/auth/me/").status_code == 200


@pytest.mark.bug_f1
@committed_db()
def test_two_engagement_events_through_the_api_both_count(company, interviewer, make_user, make_candidate, api):
    colleague = make_user(company, "interviewer", "ines")
    c = make_candidate(company)
    a, b = race(_post(api, interviewer, f"/api/candidates/{c.pk}/engagement/", {"points": 5}),
                _post(api, colleague, f"/api/candidates/{c.pk}/engagement/", {"points": 7}),
                "candidates.engagement.before_update")
    assert (a.result[0], b.result[0]) == (200, 200)
    assert api(interviewer).get(f"/api/candidates/{c.pk}/").json()["engagement_score"] == 12


@pytest.mark.bug_h2
@committed_db()
def test_two_csv_uploads_of_the_same_person_create_one_candidate(company, recruiter, make_user, api):
    other = make_user(company, "recruiter", "rob")
    body = "first_name,last_name,email\nIngrid,Berg,ingrid@acme.example\n".encode("utf-8")

    def upload(user):
        def run():
            response = api(user).generic("POST", "/api/candidates/import/", body, content_type="text/csv")
            return response.status_code, response.json()
        return run

    a, b = race(upload(recruiter), upload(other), "candidates.upsert.after_lookup")
    assert (a.result[0], b.result[0]) == (200, 200)
    assert sorted([a.result[1]["created"], b.result[1]["created"]]) == [0, 1]
    listed = api(recruiter).get("/api/candidates/").json()
    assert [c["email"] for c in listed["results"]] == ["ingrid@acme.example"]


@pytest.mark.bug_h1
@committed_db()
def test_pipeline_and_hiring_report_runs_through_the_api(company, recruiter, make_user, api):
    other = make_user(company, "recruiter", "rob")
    a, b = race(_post(api, recruiter, "/api/analytics/reports/pipeline/run/"),
                _post(api, other, "/api/analytics/reports/hiring/run/"),
                "analytics.reports.first_locked", second_waits=False)
    assert (a.error, b.error) == (None, None)
    assert (a.result[0], b.result[0]) == (202, 202)
    assert sorted(ReportRun.objects.values_list("status", flat=True)) == ["done", "done"]
    assert api(recruiter).get("/api/analytics/reports/hiring/").status_code == 200


@pytest.mark.bug_h3
@committed_db()
def test_snapshot_through_the_api_agrees_with_itself(company, recruiter, make_job, make_candidate, api):
    job = make_job(company)
    apply_to_job(job.pk, make_candidate(company).pk)
    late = make_candidate(company)
    a, b = race(_post(api, recruiter, f"/api/jobs/{job.pk}/snapshot/"),
                lambda: apply_to_job(job.pk, late.pk).pk,
                "analytics.snapshot.after_lock")
    status, body = a.result
    assert status == 201
    assert body["application_count"] == len(body["application_ids"]) == sum(body["by_status"].values())
    assert b.result not in body["application_ids"]
    assert PipelineSnapshot.objects.get(pk=body["id"]).application_count == 1
    assert Application.objects.filter(job=job).count() == 2


# ------------------------------------------------------- schedules and clocks


@pytest.mark.bug_b1
def test_schedules_endpoint_shows_utc_run_times(recruiter, api, db):
    response = api(recruiter).get("/api/analytics/schedules/", {"at": "2026-01-05T05:00:00Z"})  # a Monday
    assert response.status_code == 200
    runs = {s["name"]: s["next_run"] for s in response.json()}
    assert runs == {
        "daily-activity-report": "2026-01-05T06:00:00Z",
        "weekly-hiring-report": "2026-01-05T07:30:00Z",
        "candidate-deduplication": "2026-01-06T02:15:00Z",
    }


@pytest.fixture
def server_tz():
    previous = os.environ.get("TZ")

    def use(zone):
        os.environ["TZ"] = zone
        time.tzset()

    yield use
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()


@pytest.mark.bug_g1
def test_activity_report_run_through_the_api_covers_the_last_day(company, recruiter, make_job, make_candidate, api,
                                                                  server_tz, db):
    job = make_job(company)
    now = timezone.now()
    for hours in (1, 23, 40):
        app = apply_to_job(job.pk, make_candidate(company).pk)
        Application.objects.filter(pk=app.pk).update(created_at=now - timedelta(hours=hours))
    Candidate.objects.filter(company=company).update(created_at=now - timedelta(days=3))
    server_tz("America/Sao_Paulo")
    client = api(recruiter)
    assert client.post("/api/analytics/reports/activity/run/").status_code == 202
    report = client.get("/api/analytics/reports/activity/").json()
    assert report["data"]["applications"] == 2
    end = timezone.datetime.fromisoformat(report["period_end"])
    assert abs(end - timezone.now()) < timedelta(seconds=30)
