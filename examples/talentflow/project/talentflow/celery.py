"""The Celery application and the beat schedule of periodic tasks."""
import os
from datetime import timedelta
from datetime import timezone as dt_timezone

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "talentflow.settings")

app = Celery("talentflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# name -> (task, crontab fields); times are in the project's TIME_ZONE (UTC).
PERIODIC_TASKS = {
    "daily-activity-report": ("analytics.run_daily_reports", {"hour": 6, "minute": 0}),
    "weekly-hiring-report": (
        "analytics.run_weekly_hiring_reports",
        {"hour": 7, "minute": 30, "day_of_week": "mon"},
    ),
    "candidate-deduplication": ("candidates.deduplicate_all", {"hour": 2, "minute": 15}),
}

app.conf.beat_schedule = {
    name: {"task": task, "schedule": crontab(**fields)}
    for name, (task, fields) in PERIODIC_TASKS.items()
}


def schedule_preview(name, last_run_at, now):
    """When the periodic task ``name`` runs next, and whether it is due at ``now``.

    ``last_run_at`` and ``now`` are aware datetimes. Returns a dict with
    ``next_run`` (aware, in UTC) and ``due``.
    """
    task, fields = PERIODIC_TASKS[name]
    schedule = crontab(**fields, nowfun=lambda: now, app=app)
    due, _ = schedule.is_due(last_run_at)
    remaining = schedule.remaining_estimate(last_run_at)
    next_run = now + remaining if remaining > timedelta(0) else now
    next_run = next_run.astimezone(dt_timezone.utc).replace(microsecond=0)
    return {"task": task, "next_run": next_run, "due": due}


@app.task(name="common.ping")
def ping():
    """Liveness probe for workers."""
    return "pong"
