"""Report generation under row locks, pipeline snapshots, and the activity window."""
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.analytics import tasks as analytics
from apps.analytics.models import PipelineSnapshot, Report, ReportRun
from apps.jobs.matching import apply_to_job
from apps.jobs.models import Application
from tests.support import committed_db, race

pytestmark = pytest.mark.integration


# ------------------------------------------------------------- H1: lock order


def _report(company_id, kind):
    return lambda: analytics.generate_report(company_id, kind).version


@pytest.mark.bug_h1
@committed_db()
def test_pipeline_and_hiring_reports_run_concurrently(company):
    a, b = race(_report(company.pk, "pipeline"), _report(company.pk, "hiring"),
                "analytics.reports.first_locked", second_waits=False)
    assert a.error is None, a.error
    assert b.error is None, b.error


@pytest.mark.bug_h1
@committed_db()
def test_concurrent_reports_are_both_stored(company):
    race(_report(company.pk, "pipeline"), _report(company.pk, "hiring"),
         "analytics.reports.first_locked", second_waits=False)
    reports = {r.kind: r for r in Report.objects.filter(company=company)}
    assert reports["pipeline"].generated_at is not None
    assert reports["hiring"].generated_at is not None


@pytest.mark.bug_h1
@committed_db()
def test_no_report_run_fails_under_concurrency(company):
    race(_report(company.pk, "hiring"), _report(company.pk, "pipeline"),
         "analytics.reports.first_locked", second_waits=False)
    statuses = sorted(ReportRun.objects.filter(company=company).values_list("status", flat=True))
    assert statuses == ["done", "done"]


@pytest.mark.bug_h1
@committed_db()
def test_concurrent_reports_cross_reference_each_other(company):
    race(_report(company.pk, "pipeline"), _report(company.pk, "hiring"),
         "analytics.reports.first_locked", second_waits=False)
    reports = {r.kind: r for r in Report.objects.filter(company=company)}
    assert reports["hiring"].data.get("pipeline_version") == reports["pipeline"].version == 1
    assert reports["pipeline"].data.get("hiring_version") == reports["hiring"].version == 1


def test_report_versions_increase(company, db):
    assert analytics.generate_report(company.pk, "pipeline").version == 1
    assert analytics.generate_report(company.pk, "pipeline").version == 2


def test_unknown_report_kind(company, db):
    with pytest.raises(ValueError, match="payroll"):
        analytics.generate_report(company.pk, "payroll")


def test_pipeline_report_counts_by_status(company, make_job, make_candidate, db):
    job = make_job(company)
    for c in (make_candidate(company), make_candidate(company)):
        apply_to_job(job.pk, c.pk)
    Application.objects.filter(job=job).order_by("id").first().__class__.objects.filter(
        pk=Application.objects.filter(job=job).order_by("id").first().pk).update(status="screening")
    data = analytics.generate_report(company.pk, "pipeline").data
    assert data["jobs"][str(job.pk)]["by_status"] == {"applied": 1, "screening": 1}


# ---------------------------------------------------------- H3: phantom rows


def _snapshot(job_id):
    return lambda: analytics.snapshot_pipeline(job_id).pk


def _late_application(job_id, candidate_id):
    return lambda: apply_to_job(job_id, candidate_id).pk


@pytest.mark.bug_h3
@committed_db()
def test_snapshot_count_matches_locked_rows(company, make_job, make_candidate):
    job = make_job(company)
    apply_to_job(job.pk, make_candidate(company).pk)
    late = make_candidate(company)
    a, b = race(_snapshot(job.pk), _late_application(job.pk, late.pk), "analytics.snapshot.after_lock")
    snap = PipelineSnapshot.objects.get(pk=a.result)
    assert snap.application_count == len(snap.application_ids)


@pytest.mark.bug_h3
@committed_db()
def test_snapshot_status_totals_match_count(company, make_job, make_candidate):
    job = make_job(company)
    apply_to_job(job.pk, make_candidate(company).pk)
    a, _ = race(_snapshot(job.pk), _late_application(job.pk, make_candidate(company).pk), "analytics.snapshot.after_lock")
    snap = PipelineSnapshot.objects.get(pk=a.result)
    assert sum(snap.by_status.values()) == len(snap.application_ids)


@pytest.mark.bug_h3
@committed_db()
def test_rows_marked_reported_are_the_snapshot_rows(company, make_job, make_candidate):
    job = make_job(company)
    for _ in range(2):
        apply_to_job(job.pk, make_candidate(company).pk)
    a, _ = race(_snapshot(job.pk), _late_application(job.pk, make_candidate(company).pk), "analytics.snapshot.after_lock")
    snap = PipelineSnapshot.objects.get(pk=a.result)
    reported = sorted(Application.objects.filter(job=job, reported=True).values_list("pk", flat=True))
    assert reported == sorted(snap.application_ids)
    assert snap.application_count == len(reported)


@pytest.mark.bug_h3
@committed_db()
def test_application_during_snapshot_lands_after_it(company, make_job, make_candidate):
    job = make_job(company)
    apply_to_job(job.pk, make_candidate(company).pk)
    a, b = race(_snapshot(job.pk), _late_application(job.pk, make_candidate(company).pk), "analytics.snapshot.after_lock")
    snap = PipelineSnapshot.objects.get(pk=a.result)
    assert b.result not in snap.application_ids
    assert snap.application_count == 1
    assert Application.objects.get(pk=b.result).reported is False


def test_snapshot_of_quiet_job(company, make_job, make_candidate, db):
    job = make_job(company)
    ids = [apply_to_job(job.pk, make_candidate(company).pk).pk for _ in range(3)]
    snap = analytics.snapshot_pipeline(job.pk)
    assert (snap.application_count, snap.application_ids, snap.by_status) == (3, ids, {"applied": 3})


# ------------------------------------------------------ G1: activity window


@pytest.fixture
def server_timezone():
    """Run the code as on a server whose local clock is not UTC."""
    def use(zone):
        os.environ["TZ"] = zone
        time.tzset()

    previous = os.environ.get("TZ")
    yield use
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()


def _activity_rows(company, make_job, make_candidate):
    job = make_job(company)
    now = timezone.now()
    created = {}
    for label, hours in (("recent", 2), ("morning", 20), ("old", 40)):
        app = apply_to_job(job.pk, make_candidate(company).pk)
        Application.objects.filter(pk=app.pk).update(created_at=now - timedelta(hours=hours))
        created[label] = app.pk
    return created


@pytest.mark.bug_g1
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_activity_report_counts_last_24_hours(zone, company, make_job, make_candidate, server_timezone, db):
    _activity_rows(company, make_job, make_candidate)
    server_timezone(zone)
    report = analytics.generate_report(company.pk, "activity")
    assert report.data["applications"] == 2


@pytest.mark.bug_g1
def test_activity_period_ends_now(company, server_timezone, db):
    server_timezone("Asia/Kolkata")
    before = timezone.now()
    report = analytics.generate_report(company.pk, "activity")
    report.refresh_from_db()
    assert before - timedelta(seconds=5) <= report.period_end <= timezone.now() + timedelta(seconds=5)
    assert report.period_end - report.period_start == timedelta(hours=24)


@pytest.mark.bug_g1
def test_daily_task_reports_every_company(company, other_company, make_job, make_candidate, server_timezone, db):
    _activity_rows(company, make_job, make_candidate)
    server_timezone("Pacific/Auckland")
    analytics.run_daily_reports()
    counts = {r.company_id: r.data["applications"] for r in Report.objects.filter(kind="activity")}
    assert counts == {company.pk: 2, other_company.pk: 0}


def test_activity_window_with_explicit_end():
    end = timezone.now()
    assert analytics.activity_window(end) == (end - timedelta(hours=24), end)
