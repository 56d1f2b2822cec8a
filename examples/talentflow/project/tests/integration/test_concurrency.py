"""Concurrent writers, forced into the interleaving that matters.

Each test pauses the first operation at a named checkpoint inside its critical
section and lets it continue only once the second operation is either blocked
on a lock the first holds or has reached the same checkpoint.
"""
import threading

import pytest
from django.db import close_old_connections

from apps.accounts.models import RefreshToken
from apps.accounts.oauth import AuthError, decode_token, issue_tokens, rotate_refresh
from apps.candidates import tasks as candidate_tasks
from apps.candidates.models import Candidate
from apps.common.hooks import listening
from apps.jobs.matching import ApplicationRejected, apply_to_job
from apps.jobs.models import Application
from tests.support import committed_db, race, run_threads

pytestmark = [pytest.mark.integration, committed_db()]


def _apply(job_id, candidate_id):
    def run():
        try:
            return ("created", apply_to_job(job_id, candidate_id).pk)
        except ApplicationRejected as exc:
            return ("rejected", exc.status)
    return run


# ---------------------------------------------------------------- A3: limit


@pytest.mark.bug_a3
def test_concurrent_applications_respect_limit(company, make_job, make_candidate):
    job = make_job(company, max_applications=1)
    c1, c2 = make_candidate(company), make_candidate(company)
    a, b = race(_apply(job.pk, c1.pk), _apply(job.pk, c2.pk), "jobs.apply.after_limit_check")
    assert a.error is None and b.error is None
    assert Application.objects.filter(job=job).count() == 1


@pytest.mark.bug_a3
def test_second_concurrent_application_is_told_the_job_is_full(company, make_job, make_candidate):
    job = make_job(company, max_applications=1)
    c1, c2 = make_candidate(company), make_candidate(company)
    a, b = race(_apply(job.pk, c1.pk), _apply(job.pk, c2.pk), "jobs.apply.after_limit_check")
    assert a.result[0] == "created"
    assert b.result == ("rejected", 409)


@pytest.mark.bug_a3
def test_same_candidate_applying_twice_concurrently_gets_one_application(company, make_job, make_candidate):
    job = make_job(company, max_applications=5)
    c = make_candidate(company)
    a, b = race(_apply(job.pk, c.pk), _apply(job.pk, c.pk), "jobs.apply.after_limit_check")
    assert a.error is None and b.error is None, (a.error, b.error)
    assert b.result == ("rejected", 409)
    assert Application.objects.filter(job=job, candidate=c).count() == 1


@pytest.mark.bug_a3
def test_limit_of_two_with_one_seat_left(company, make_job, make_candidate):
    job = make_job(company, max_applications=2)
    first = make_candidate(company)
    apply_to_job(job.pk, first.pk)
    c1, c2 = make_candidate(company), make_candidate(company)
    race(_apply(job.pk, c1.pk), _apply(job.pk, c2.pk), "jobs.apply.after_limit_check")
    assert Application.objects.filter(job=job).count() == 2


# ------------------------------------------------------- C1: refresh race


def _refresh(raw):
    def run():
        try:
            return rotate_refresh(raw)
        except AuthError as exc:
            return exc.status
    return run


@pytest.mark.bug_c1
def test_concurrent_refresh_both_succeed(recruiter):
    raw = issue_tokens(recruiter)["refresh"]
    a, b = race(_refresh(raw), _refresh(raw), "accounts.refresh.after_read")
    assert isinstance(a.result, dict), (a.result, a.error)
    assert isinstance(b.result, dict), b.result


@pytest.mark.bug_c1
def test_concurrent_refresh_returns_the_same_successor(recruiter):
    raw = issue_tokens(recruiter)["refresh"]
    a, b = race(_refresh(raw), _refresh(raw), "accounts.refresh.after_read")
    assert isinstance(a.result, dict) and isinstance(b.result, dict)
    assert a.result["refresh"] == b.result["refresh"] != raw


@pytest.mark.bug_c1
def test_session_survives_concurrent_refresh(recruiter):
    raw = issue_tokens(recruiter)["refresh"]
    a, b = race(_refresh(raw), _refresh(raw), "accounts.refresh.after_read")
    close_old_connections()
    assert isinstance(a.result, dict) and isinstance(b.result, dict), (a.result, b.result)
    again = rotate_refresh(b.result["refresh"])
    assert again["refresh"] not in (a.result["refresh"], b.result["refresh"])


@pytest.mark.bug_c1
def test_concurrent_refresh_leaves_one_active_token(recruiter):
    raw = issue_tokens(recruiter)["refresh"]
    a, b = race(_refresh(raw), _refresh(raw), "accounts.refresh.after_read")
    family = RefreshToken.objects.order_by("id").first().family
    tokens = RefreshToken.objects.filter(family=family)
    assert tokens.count() == 2
    assert [t.active for t in tokens.order_by("id")] == [False, True]
    assert not tokens.filter(revoked_at__isnull=False).exists()
    active = tokens.order_by("id").last()
    handed_out = {decode_token(r["refresh"], "refresh")["jti"] for r in (a.result, b.result) if isinstance(r, dict)}
    assert handed_out == {str(active.jti)}, (a.result, b.result)
    assert isinstance(b.result, dict), b.result


# ------------------------------------------------------ F1: lost updates


@pytest.mark.bug_f1
def test_concurrent_engagement_bumps_are_not_lost(company, make_candidate):
    c = make_candidate(company)
    race(lambda: candidate_tasks.bump_engagement(c.pk, 1), lambda: candidate_tasks.bump_engagement(c.pk, 1),
         "candidates.engagement.before_update")
    c.refresh_from_db()
    assert c.engagement_score == 2


@pytest.mark.bug_f1
def test_concurrent_bumps_of_different_sizes_add_up(company, make_candidate):
    c = make_candidate(company, engagement_score=10)
    race(lambda: candidate_tasks.bump_engagement(c.pk, 5), lambda: candidate_tasks.bump_engagement(c.pk, 7),
         "candidates.engagement.before_update")
    c.refresh_from_db()
    assert c.engagement_score == 22


@pytest.mark.bug_f1
def test_engagement_task_returns_the_running_total(company, make_candidate):
    c = make_candidate(company)
    a, b = race(lambda: candidate_tasks.record_engagement(c.pk, 3),
                lambda: candidate_tasks.record_engagement(c.pk, 4),
                "candidates.engagement.before_update")
    assert (a.error, b.error) == (None, None)
    assert sorted([a.result, b.result]) == [3, 7]


@pytest.mark.bug_f1
def test_note_and_engagement_event_both_count(company, make_candidate, interviewer, api):
    c = make_candidate(company)

    def add_note():
        return api(interviewer).post(f"/api/candidates/{c.pk}/notes/", {"body": "great call"}, format="json").status_code

    a, b = race(add_note, lambda: candidate_tasks.bump_engagement(c.pk, 1), "candidates.engagement.before_update")
    assert a.result == 201
    c.refresh_from_db()
    assert c.engagement_score == 2


def test_many_parallel_bumps_add_up(company, make_candidate):
    c = make_candidate(company)
    # All four bumps reach the update step before any of them writes: the
    # same contention on every run, not whatever the scheduler gives.
    together = threading.Barrier(4, timeout=10)
    with listening("candidates.engagement.before_update", lambda **_: together.wait()):
        workers = run_threads(*[lambda: candidate_tasks.bump_engagement(c.pk, 1) for _ in range(4)])
    assert all(w.error is None for w in workers), [w.error for w in workers]
    c.refresh_from_db()
    assert c.engagement_score == 4


# -------------------------------------------------- H2: concurrent imports


def _upsert(company_id, **row):
    def run():
        data = candidate_tasks.clean_row({"first_name": "Zoë", "last_name": "Ng", **row})
        return candidate_tasks.upsert_candidate(company_id, data)[0].pk
    return run


@pytest.mark.bug_h2
def test_concurrent_imports_of_one_person_create_one_candidate(company):
    a, b = race(_upsert(company.pk, email="zoe@ng.example"), _upsert(company.pk, email="zoe@ng.example"),
                "candidates.upsert.after_lookup")
    assert a.error is None and b.error is None
    assert Candidate.objects.filter(company=company).count() == 1
    assert a.result == b.result


@pytest.mark.bug_h2
def test_concurrent_imports_differing_in_email_case_merge(company):
    race(_upsert(company.pk, email="Zoe@NG.example"), _upsert(company.pk, email=" zoe@ng.example"),
         "candidates.upsert.after_lookup")
    assert Candidate.objects.filter(company=company, email_normalized="zoe@ng.example").count() == 1


@pytest.mark.bug_h2
def test_concurrent_import_and_sync_keep_both_skill_sets(company):
    race(_upsert(company.pk, email="zoe@ng.example", skills={"python": 4}),
         _upsert(company.pk, email="zoe@ng.example", skills={"sql": 3}),
         "candidates.upsert.after_lookup")
    candidate = Candidate.objects.get(company=company)
    assert sorted(candidate.candidate_skills.values_list("skill__slug", flat=True)) == ["python", "sql"]


@pytest.mark.bug_h2
def test_no_duplicate_emails_after_concurrent_bulk_imports(company):
    def bulk():
        rows = [{"first_name": f"P{i}", "email": f"p{i}@x.example"} for i in range(3)]
        return candidate_tasks.import_rows(company.pk, rows)

    race(bulk, bulk, "candidates.upsert.after_lookup", second_waits=False)
    emails = list(Candidate.objects.filter(company=company).values_list("email_normalized", flat=True))
    assert sorted(emails) == ["p0@x.example", "p1@x.example", "p2@x.example"]


def test_concurrent_imports_in_different_companies_do_not_block(company, other_company):
    a, b = race(_upsert(company.pk, email="zoe@ng.example"), _upsert(other_company.pk, email="zoe@ng.example"),
                "candidates.upsert.after_lookup")
    assert a.error is None and b.error is None
    assert Candidate.objects.filter(email_normalized="zoe@ng.example").count() == 2
