"""Analytics API: summary, reports (cached), report runs, schedules."""
from datetime import datetime
from datetime import timezone as dt_timezone

from django.utils import timezone
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from apps.accounts.permissions import IsCompanyMember, role_at_least
from talentflow.celery import PERIODIC_TASKS, schedule_preview

from . import tasks
from .models import Report


@api_view(["GET"])
@permission_classes([IsCompanyMember])
def summary(request):
    return Response(tasks.company_summary(request.user.company_id))


@api_view(["GET"])
@permission_classes([IsCompanyMember])
def report(request, kind):
    if kind not in Report.Kind.values:
        return Response({"detail": f"unknown report {kind!r}"}, status=404)
    payload = tasks.report_payload(request.user.company_id, kind)
    if payload is None:
        return Response({"detail": "report has not been generated yet"}, status=404)
    return Response(payload)


@api_view(["POST"])
@permission_classes([IsCompanyMember])
def run_report(request, kind):
    if kind not in Report.Kind.values:
        return Response({"detail": f"unknown report {kind!r}"}, status=404)
    if not role_at_least(request.user, "recruiter"):
        return Response({"detail": "only recruiters run reports"}, status=403)
    result = tasks.generate_report_task(request.user.company_id, kind)
    return Response(result, status=202)


@api_view(["GET"])
@permission_classes([IsCompanyMember])
def schedules(request):
    """Next run of each periodic task, for a task that last ran at ``at`` (default: now)."""
    raw = request.query_params.get("at")
    if raw:
        try:
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return Response({"detail": "at must be an ISO 8601 date-time"}, status=400)
        if at.tzinfo is None:
            return Response({"detail": "at must include a UTC offset"}, status=400)
    else:
        at = timezone.now()
    out = []
    for name in PERIODIC_TASKS:
        preview = schedule_preview(name, last_run_at=at, now=at)
        out.append({
            "name": name,
            "task": preview["task"],
            "next_run": preview["next_run"].astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z"),
        })
    return Response(out)
