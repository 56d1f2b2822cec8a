"""Reports: generated under row locks (several reports share rows, so locks are
always taken in one global order), pipeline snapshots that agree with the rows
they lock, and the scheduled report tasks."""
from datetime import datetime, timedelta

from celery import shared_task
from django.db import DatabaseError, transaction
from django.db.models import Avg, Count, F
from django.utils import timezone

from apps.accounts.models import Company
from apps.candidates.models import Candidate, Note
from apps.common.hooks import checkpoint
from apps.jobs.models import Application, Job

from . import caching
from .models import PipelineSnapshot, Report, ReportRun

# Rows each report kind writes: its own, plus the ones it cross-references.
REPORT_LOCKS = {
    Report.Kind.PIPELINE: [Report.Kind.PIPELINE, Report.Kind.HIRING],
    Report.Kind.HIRING: [Report.Kind.HIRING, Report.Kind.PIPELINE],
    Report.Kind.ACTIVITY: [Report.Kind.ACTIVITY],
}


def ensure_report_rows(company_id):
    for kind in Report.Kind.values:
        Report.objects.get_or_create(company_id=company_id, kind=kind)


def lock_reports(company_id, kinds):
    """Lock the report rows of ``kinds`` (in one global order, whatever the caller's)."""
    rows = {}
    for position, kind in enumerate(kinds):
        rows[kind] = Report.objects.select_for_update().get(company_id=company_id, kind=kind)
        if position == 0:
            checkpoint("analytics.reports.first_locked", company_id=company_id, kind=kind)
    return rows


def activity_window(now=None):
    """The last 24 hours, ending now (aware, UTC)."""
    end = now or datetime.now()
    return end - timedelta(hours=24), end


def build_pipeline(company_id, now):
    jobs = Job.objects.filter(company_id=company_id, status=Job.Status.OPEN).order_by("id")
    counts = (
        Application.objects.filter(job__in=jobs).values("job_id", "status").annotate(n=Count("id"))
    )
    per_job = {str(j.pk): {"title": j.title, "by_status": {}} for j in jobs}
    for row in counts:
        per_job[str(row["job_id"])]["by_status"][row["status"]] = row["n"]
    return {"jobs": per_job, "open_jobs": len(per_job)}


def build_hiring(company_id, now):
    since = (now or timezone.now()) - timedelta(days=30)
    hired = Application.objects.filter(
        job__company_id=company_id, status=Application.Status.HIRED, updated_at__gte=since
    )
    avg = hired.aggregate(days=Avg(F("updated_at") - F("created_at")))["days"]
    return {
        "hired_30d": hired.count(),
        "offers_open": Application.objects.filter(job__company_id=company_id, status=Application.Status.OFFER).count(),
        "avg_days_to_hire": round(avg.total_seconds() / 86400, 2) if avg else None,
    }


def build_activity(company_id, now):
    start, end = activity_window(now)
    return {
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "applications": Application.objects.filter(
            job__company_id=company_id, created_at__gte=start, created_at__lt=end
        ).count(),
        "notes": Note.objects.filter(candidate__company_id=company_id, created_at__gte=start, created_at__lt=end).count(),
        "new_candidates": Candidate.objects.filter(company_id=company_id, created_at__gte=start, created_at__lt=end).count(),
    }


BUILDERS = {
    Report.Kind.PIPELINE: build_pipeline,
    Report.Kind.HIRING: build_hiring,
    Report.Kind.ACTIVITY: build_activity,
}


def generate_report(company_id, kind, now=None):
    """Regenerate one report; returns the Report row. A failed run is recorded."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown report kind {kind!r}")
    ensure_report_rows(company_id)
    run = ReportRun.objects.create(company_id=company_id, kind=kind)
    try:
        with transaction.atomic():
            rows = lock_reports(company_id, REPORT_LOCKS[kind])
            data = BUILDERS[kind](company_id, now)
            report = rows[kind]
            cross_references = {k: v for k, v in report.data.items() if k.endswith("_version")}
            report.data = {**cross_references, **data}
            report.generated_at = timezone.now()
            if kind == Report.Kind.ACTIVITY:
                report.period_start = data["period_start"]
                report.period_end = data["period_end"]
            report.version += 1
            report.save()
            for other_kind, other in rows.items():
                if other_kind != kind:
                    other.data = {**other.data, f"{kind}_version": report.version}
                    other.save(update_fields=["data"])
    except DatabaseError as exc:
        ReportRun.objects.filter(pk=run.pk).update(
            status=ReportRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.DONE, finished_at=timezone.now())
    caching.invalidate(f"report:{company_id}:{kind}", f"summary:{company_id}")
    return report


@shared_task(name="analytics.generate_report")
def generate_report_task(company_id, kind):
    report = generate_report(company_id, kind)
    return {"company_id": company_id, "kind": kind, "version": report.version}


@shared_task(name="analytics.run_daily_reports")
def run_daily_reports():
    return [generate_report(c.pk, Report.Kind.ACTIVITY).pk for c in Company.objects.order_by("pk")]


@shared_task(name="analytics.run_weekly_hiring_reports")
def run_weekly_hiring_reports():
    return [generate_report(c.pk, Report.Kind.HIRING).pk for c in Company.objects.order_by("pk")]


def snapshot_pipeline(job_id):
    """Record the job's applications at one instant; count and ids always agree."""
    with transaction.atomic():
        job = Job.objects.get(pk=job_id)
        applications = list(Application.objects.select_for_update().filter(job_id=job_id).order_by("id"))
        checkpoint("analytics.snapshot.after_lock", job_id=job_id)
        count = Application.objects.filter(job_id=job_id).count()
        by_status = dict(
            Application.objects.filter(job_id=job_id).values_list("status").annotate(n=Count("id")).order_by()
        )
        Application.objects.filter(pk__in=[a.pk for a in applications]).update(reported=True)
        return PipelineSnapshot.objects.create(
            job=job,
            application_count=count,
            application_ids=[a.pk for a in applications],
            by_status=by_status,
        )


@shared_task(name="analytics.snapshot_pipeline")
def snapshot_pipeline_task(job_id):
    snap = snapshot_pipeline(job_id)
    return {"id": snap.pk, "count": snap.application_count, "ids": snap.application_ids}


def company_summary(company_id):
    def compute():
        return {
            "candidates": Candidate.objects.filter(company_id=company_id).count(),
            "open_jobs": Job.objects.filter(company_id=company_id, status=Job.Status.OPEN).count(),
            "applications": Application.objects.filter(job__company_id=company_id).count(),
        }

    return caching.cached_query(f"summary:{company_id}", compute)


def report_payload(company_id, kind):
    def compute():
        report = Report.objects.filter(company_id=company_id, kind=kind).first()
        if report is None or report.generated_at is None:
            return None
        return {
            "kind": kind,
            "version": report.version,
            "generated_at": report.generated_at.isoformat(),
            "period_start": report.period_start.isoformat() if report.period_start else None,
            "period_end": report.period_end.isoformat() if report.period_end else None,
            "data": report.data,
        }

    value = caching.cached_query(f"report:{company_id}:{kind}", compute)
    if value is None:
        caching.invalidate(f"report:{company_id}:{kind}")
    return value
