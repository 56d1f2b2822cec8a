"""Whole hiring workflows through the REST API: a recruiter publishes a job,
candidates arrive (created, imported, synced), are matched, apply, move
through the pipeline, get interviews, and show up in reports and exports.
Background tasks run as Celery tasks (eagerly, as configured for tests)."""
from datetime import datetime, timezone

import pytest

from apps.candidates.models import Candidate

pytestmark = pytest.mark.system

# Three requirements whose weights do not add up exactly in binary floating
# point: 0.1 + 0.2 + 0.3 == 0.6000000000000001.
FLOAT_REQS = [
    {"skill": "python", "weight": 0.1, "required_level": 3},
    {"skill": "sql", "weight": 0.2, "required_level": 3},
    {"skill": "go", "weight": 0.3, "required_level": 3},
]


def _job(client, requirements, **extra):
    body = {"title": "Platform Engineer", "requirements": requirements, **extra}
    response = client.post("/api/jobs/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _candidate(client, first_name, email, skills=None, **extra):
    body = {"first_name": first_name, "last_name": extra.pop("last_name", "Doe"), "email": email, **extra}
    if skills is not None:
        body["skills"] = skills
    response = client.post("/api/candidates/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# -------------------------------------------------------- matching (E1, G4)


@pytest.mark.bug_e1
def test_candidate_meeting_every_requirement_is_a_perfect_match(recruiter, api, db):
    client = api(recruiter)
    job = _job(client, [
        {"skill": "python", "weight": 0.5, "required_level": 4},
        {"skill": "postgresql", "weight": 0.3, "required_level": 3},
        {"skill": "docker", "weight": 0.2, "required_level": 2},
    ])
    star = _candidate(client, "Star", "star@acme.example", {"python": 4, "postgresql": 3, "docker": 2})
    _candidate(client, "Partial", "partial@acme.example", {"python": 4})
    matches = client.get(f"/api/jobs/{job['id']}/matches/").json()
    assert matches[0]["candidate"] == star["id"]
    assert matches[0]["score"] == 1.0
    assert matches[0]["perfect"] is True
    assert matches[1]["perfect"] is False


@pytest.mark.bug_e1
def test_applying_records_a_full_score_for_a_perfect_candidate(recruiter, api, db):
    client = api(recruiter)
    job = _job(client, [{"skill": "rust", "weight": 1.0, "required_level": 5}])
    ace = _candidate(client, "Ace", "ace@acme.example", {"rust": 5})
    response = client.post(f"/api/jobs/{job['id']}/apply/", {"candidate": ace["id"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["match_score"] == 1.0


@pytest.mark.bug_e1
def test_overqualified_candidate_is_still_exactly_perfect(recruiter, api, db):
    client = api(recruiter)
    job = _job(client, [{"skill": "python", "weight": 0.7, "required_level": 2},
                        {"skill": "sql", "weight": 0.3, "required_level": 1}])
    _candidate(client, "Senior", "senior@acme.example", {"python": 5, "sql": 5})
    [match] = client.get(f"/api/jobs/{job['id']}/matches/").json()
    assert (match["score"], match["perfect"], match["qualified"]) == (1.0, True, True)


@pytest.mark.bug_g4
def test_score_equal_to_the_threshold_qualifies(recruiter, api, db):
    client = api(recruiter)
    job = _job(client, FLOAT_REQS, min_match_score=0.5)
    half = _candidate(client, "Half", "half@acme.example", {"go": 3})  # 0.3 / 0.6 == 0.5
    [match] = client.get(f"/api/jobs/{job['id']}/matches/").json()
    assert match["candidate"] == half["id"]
    assert match["score"] == 0.5
    assert match["qualified"] is True


@pytest.mark.bug_g4
def test_equal_scores_rank_by_candidate_age(recruiter, api, db):
    client = api(recruiter)
    job = _job(client, FLOAT_REQS)
    first = _candidate(client, "First", "first@acme.example", {"go": 3})  # 0.3 / 0.6
    second = _candidate(client, "Second", "second@acme.example", {"python": 3, "sql": 3})  # (0.1 + 0.2) / 0.6
    matches = client.get(f"/api/jobs/{job['id']}/matches/").json()
    assert [m["candidate"] for m in matches] == [first["id"], second["id"]]
    assert matches[0]["score"] == matches[1]["score"] == 0.5


@pytest.mark.bug_g4
def test_applications_with_equal_scores_list_in_application_order(recruiter, api, db):
    client = api(recruiter)
    job = _job(client, FLOAT_REQS)
    early = _candidate(client, "Early", "early@acme.example", {"go": 3})
    late = _candidate(client, "Late", "late@acme.example", {"python": 3, "sql": 3})
    for c in (early, late):
        assert client.post(f"/api/jobs/{job['id']}/apply/", {"candidate": c["id"]}, format="json").status_code == 201
    listed = client.get(f"/api/jobs/{job['id']}/applications/").json()
    assert [a["candidate"] for a in listed] == [early["id"], late["id"]]


# ------------------------------------------------------------ pipeline


def test_full_pipeline_from_job_to_hire(company, recruiter, interviewer, api, db):
    client = api(recruiter)
    job = _job(client, [{"skill": "python", "weight": 1.0, "required_level": 3}], max_applications=5)
    cand = _candidate(client, "Hana", "hana@acme.example", {"python": 4})
    application = client.post(f"/api/jobs/{job['id']}/apply/", {"candidate": cand["id"]}, format="json").json()
    for step in ("screening", "interview"):
        moved = client.post(f"/api/jobs/applications/{application['id']}/transition/", {"status": step}, format="json")
        assert moved.status_code == 200 and moved.json()["status"] == step
    window = api(interviewer).post("/api/interviews/availability/", {
        "weekday": 0, "start_time": "09:00", "end_time": "12:00", "timezone": "America/New_York"}, format="json")
    assert window.status_code == 201, window.content
    booked = client.post("/api/interviews/", {
        "application": application["id"], "interviewer": interviewer.pk,
        "starts_at": "2025-06-02T13:00:00Z", "duration_minutes": 60, "candidate_timezone": "Asia/Tokyo"}, format="json")
    assert booked.status_code == 201, booked.content
    assert booked.json()["candidate_local_start"] == "2025-06-02T22:00:00+09:00"
    for step in ("offer", "hired"):
        assert client.post(f"/api/jobs/applications/{application['id']}/transition/", {"status": step}, format="json").status_code == 200
    run = client.post("/api/analytics/reports/hiring/run/")
    assert run.status_code == 202, run.content
    report = client.get("/api/analytics/reports/hiring/").json()
    assert report["data"]["hired_30d"] == 1
    assert report["version"] == run.json()["version"]


def test_illegal_transition_is_refused_with_the_allowed_ones(company, recruiter, make_job, make_candidate, api, db):
    client = api(recruiter)
    job = make_job(company)
    cand = make_candidate(company)
    application = client.post(f"/api/jobs/{job.pk}/apply/", {"candidate": cand.pk}, format="json").json()
    response = client.post(f"/api/jobs/applications/{application['id']}/transition/", {"status": "hired"}, format="json")
    assert response.status_code == 400
    assert "screening" in response.json()["detail"]


def test_closed_job_refuses_applications(company, recruiter, make_job, make_candidate, api, db):
    client = api(recruiter)
    job = make_job(company, status="closed")
    response = client.post(f"/api/jobs/{job.pk}/apply/", {"candidate": make_candidate(company).pk}, format="json")
    assert response.status_code == 409


def test_double_booking_an_interviewer_is_refused(company, recruiter, interviewer, make_job, make_candidate, api, db):
    from apps.interviews.models import Availability
    from apps.jobs.matching import apply_to_job

    Availability.objects.create(interviewer=interviewer, weekday=0, start_time="09:00", end_time="17:00", timezone="UTC")
    job = make_job(company)
    a1 = apply_to_job(job.pk, make_candidate(company).pk)
    a2 = apply_to_job(job.pk, make_candidate(company).pk)
    client = api(recruiter)
    body = {"interviewer": interviewer.pk, "starts_at": "2025-06-02T10:00:00Z", "duration_minutes": 60}
    assert client.post("/api/interviews/", {**body, "application": a1.pk}, format="json").status_code == 201
    clash = client.post("/api/interviews/", {**body, "application": a2.pk, "starts_at": "2025-06-02T10:30:00Z"}, format="json")
    assert clash.status_code == 409


# ------------------------------------------------- interviews across DST (E2)


@pytest.mark.bug_e2
def test_slots_follow_the_interviewers_clock_across_dst(company, recruiter, interviewer, api, db):
    """New York moves to summer time on 2025-03-09: 09:00 local is 14:00Z before, 13:00Z after."""
    assert api(interviewer).post("/api/interviews/availability/", {
        "weekday": 0, "start_time": "09:00", "end_time": "10:00", "timezone": "America/New_York"},
        format="json").status_code == 201
    response = api(recruiter).get("/api/interviews/slots/", {
        "interviewer": interviewer.pk, "from": "2025-03-03", "to": "2025-03-10", "duration": 60})
    assert response.status_code == 200
    assert response.json()["slots"] == ["2025-03-03T14:00:00Z", "2025-03-10T13:00:00Z"]


# ----------------------------------------------------- profile scores (F2)


@pytest.mark.bug_f2
def test_score_endpoint_for_a_fresh_graduate(company, recruiter, api, db):
    client = api(recruiter)
    grad = _candidate(client, "Grad", "grad@acme.example", {"python": 3}, years_experience=0)
    response = client.post(f"/api/candidates/{grad['id']}/score/")
    assert response.status_code == 200
    assert response.json()["profile_score"] == 0 + 6 + 5
    assert client.get(f"/api/candidates/{grad['id']}/").json()["profile_score"] == 11.0


# ------------------------------------------------------- export (G2, G3)


def _export(client):
    response = client.get("/api/candidates/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response.content.decode("utf-8").strip().split("\n")


@pytest.mark.bug_g2
def test_export_dates_are_iso_whatever_the_locale(company, recruiter, api, db):
    client = api(recruiter)
    cand = _candidate(client, "Date", "date@acme.example")
    Candidate.objects.filter(pk=cand["id"]).update(created_at=datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc))
    header, row = [line.split(",") for line in _export(client)]
    assert row[header.index("created")] == "2025-01-02"


@pytest.mark.bug_g2
def test_imported_then_exported_dates_sort_chronologically(company, recruiter, api, db):
    client = api(recruiter)
    ids = [_candidate(client, f"C{i}", f"c{i}@acme.example")["id"] for i in range(3)]
    for pk, day in zip(ids, (datetime(2024, 11, 5, tzinfo=timezone.utc), datetime(2025, 2, 1, tzinfo=timezone.utc),
                             datetime(2025, 10, 30, tzinfo=timezone.utc))):
        Candidate.objects.filter(pk=pk).update(created_at=day)
    lines = _export(client)
    column = lines[0].split(",").index("created")
    dates = [line.split(",")[column] for line in lines[1:]]
    assert dates == ["2024-11-05", "2025-02-01", "2025-10-30"]
    assert dates == sorted(dates)


@pytest.mark.bug_g3
def test_csv_import_and_export_keep_international_names(company, recruiter, api, db):
    client = api(recruiter)
    csv_body = "first_name,last_name,email\nJosé,Muñoz,jose@acme.example\nМария,Иванова,maria@acme.example\n"
    imported = client.generic("POST", "/api/candidates/import/", csv_body.encode("utf-8"), content_type="text/csv")
    assert imported.status_code == 200, imported.content
    assert imported.json()["created"] == 2
    text = "\n".join(_export(client))
    assert "José,Muñoz" in text and "Мария,Иванова" in text


@pytest.mark.bug_g3
def test_export_of_cjk_and_emoji_names_round_trips(company, recruiter, api, db):
    client = api(recruiter)
    _candidate(client, "美咲", "misaki@acme.example", last_name="佐藤")
    _candidate(client, "Zoë 🌟", "zoe@acme.example", last_name="Ørsted")
    rows = [line.split(",") for line in _export(client)]
    names = [(r[1], r[2]) for r in rows[1:]]
    assert names == [("美咲", "佐藤"), ("Zoë 🌟", "Ørsted")]


# --------------------------------------------------- candidates end to end


def test_import_dedupe_and_search(company, admin, recruiter, api, db):
    client = api(recruiter)
    rows = [
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example", "skills": {"python": 3}},
        {"first_name": "Ann", "last_name": "Lee", "email": "ANN@acme.example", "skills": {"go": 2}},
        {"first_name": "Bo", "last_name": "Chen", "email": "bo@acme.example", "location": "Taipei"},
    ]
    imported = client.post("/api/candidates/import/", {"candidates": rows}, format="json").json()
    assert (imported["created"], imported["updated"]) == (2, 1)
    assert api(admin).post("/api/candidates/deduplicate/").json() == {"merged": 0}
    found = client.get("/api/candidates/search/", {"q": "taipei"}).json()
    assert [c["first_name"] for c in found["results"]] == ["Bo"]
    ann = client.get("/api/candidates/", {"skill": "go"}).json()["results"]
    assert [c["email"] for c in ann] == ["ann@acme.example"]
    assert {s["slug"] for s in ann[0]["skills"]} == {"python", "go"}


def test_notes_raise_engagement_and_show_in_summary(company, recruiter, interviewer, api, db):
    client = api(recruiter)
    cand = _candidate(client, "Noted", "noted@acme.example")
    for body in ("phone screen went well", "strong system design"):
        assert api(interviewer).post(f"/api/candidates/{cand['id']}/notes/", {"body": body}, format="json").status_code == 201
    assert client.get(f"/api/candidates/{cand['id']}/").json()["engagement_score"] == 2
    notes = client.get(f"/api/candidates/{cand['id']}/notes/").json()
    assert [n["body"] for n in notes] == ["phone screen went well", "strong system design"]
    assert client.get("/api/analytics/summary/").json()["candidates"] == 1


def test_duplicate_email_is_refused_on_create(company, recruiter, api, db):
    client = api(recruiter)
    _candidate(client, "One", "same@acme.example")
    response = client.post("/api/candidates/", {"first_name": "Two", "email": "Same@Acme.example"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()


@pytest.mark.bug_f2
def test_graduate_and_junior_scores_differ_by_one_year(company, recruiter, api, db):
    client = api(recruiter)
    grad = _candidate(client, "Grad", "grad@acme.example", years_experience=0, location="Oslo")
    junior = _candidate(client, "Junior", "junior@acme.example", years_experience=1, location="Oslo")
    scores = [client.post(f"/api/candidates/{c['id']}/score/").json()["profile_score"] for c in (grad, junior)]
    assert scores == [10.0, 12.0]


@pytest.mark.bug_g2
def test_export_task_dates_are_iso(company, recruiter, api, db):
    from apps.candidates.tasks import export_candidates

    client = api(recruiter)
    cand = _candidate(client, "Tasked", "tasked@acme.example")
    Candidate.objects.filter(pk=cand["id"]).update(created_at=datetime(2025, 7, 14, 23, 59, tzinfo=timezone.utc))
    result = export_candidates.delay(company.pk).get(timeout=10)
    header, row = [line.split(",") for line in result["csv"].strip().split("\n")]
    assert row[header.index("created")] == "2025-07-14"


@pytest.mark.bug_g3
def test_partner_sync_then_export_keeps_names(company, admin, recruiter, api, settings, db):
    from tests.support import LoopbackServer, json_route

    feed = {"candidates": [
        {"name": "Łukasz Żółkiewski", "email": "lukasz@partner.example"},
        {"first_name": "Ngọc", "last_name": "Trần", "email": "ngoc@partner.example"},
    ]}
    partner = LoopbackServer({"/feed": json_route(feed)})
    try:
        settings.CANDIDATE_SYNC = {**settings.CANDIDATE_SYNC, "TRUSTED_HOSTS": [f"127.0.0.1:{partner.port}"]}
        synced = api(admin).post("/api/candidates/sync/", {"url": f"{partner.base}/feed"}, format="json")
    finally:
        partner.close()
    assert synced.status_code == 200, synced.content
    assert synced.json()["created"] == 2
    text = "\n".join(_export(api(recruiter)))
    assert "Łukasz,Żółkiewski" in text and "Ngọc,Trần" in text
