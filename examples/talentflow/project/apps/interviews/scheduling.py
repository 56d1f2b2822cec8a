"""Interview slots from weekly availability windows kept in the interviewer's
local time; every instant is computed per day, so DST changes are respected."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.common.hooks import checkpoint

from .models import Availability, Interview

UTC = dt_timezone.utc


class SchedulingError(Exception):
    def __init__(self, message, status=409):
        super().__init__(message)
        self.message = message
        self.status = status


def window_bounds(day, window):
    """The UTC start and end of ``window`` (local wall-clock times) on the local date ``day``."""
    offset = datetime(day.year, 1, 1, tzinfo=ZoneInfo(window.timezone)).utcoffset()
    start = datetime.combine(day, window.start_time) - offset
    end = datetime.combine(day, window.end_time) - offset
    return start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)


def _busy(interviewer_id, start, end):
    return list(
        Interview.objects.filter(
            interviewer_id=interviewer_id,
            status=Interview.Status.SCHEDULED,
            starts_at__lt=end,
            ends_at__gt=start,
        ).values_list("starts_at", "ends_at")
    )


def available_slots(interviewer, first_day, last_day, duration_minutes=60, step_minutes=30):
    """Free slot start times (aware, UTC) between the local dates ``first_day`` and ``last_day``."""
    if last_day < first_day:
        raise SchedulingError("last day is before first day", status=400)
    if (last_day - first_day).days > 62:
        raise SchedulingError("at most 62 days at a time", status=400)
    duration = timedelta(minutes=duration_minutes)
    step = timedelta(minutes=step_minutes)
    windows = list(Availability.objects.filter(interviewer=interviewer))
    busy = _busy(
        interviewer.pk,
        datetime.combine(first_day, datetime.min.time(), tzinfo=UTC) - timedelta(days=1),
        datetime.combine(last_day, datetime.max.time(), tzinfo=UTC) + timedelta(days=1),
    )
    slots = []
    day = first_day
    while day <= last_day:
        for window in windows:
            if window.weekday != day.weekday():
                continue
            start, end = window_bounds(day, window)
            t = start
            while t + duration <= end:
                if not any(b_start < t + duration and t < b_end for b_start, b_end in busy):
                    slots.append(t)
                t += step
        day += timedelta(days=1)
    return sorted(set(slots))


def schedule_interview(application, interviewer, starts_at, duration_minutes=60, candidate_timezone="UTC"):
    """Book ``interviewer`` at ``starts_at`` (aware) if it is a free slot."""
    if starts_at.tzinfo is None:
        raise SchedulingError("starts_at must include a UTC offset", status=400)
    starts_at = starts_at.astimezone(UTC)
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    User = get_user_model()
    with transaction.atomic():
        User.objects.select_for_update().get(pk=interviewer.pk)
        checkpoint("interviews.schedule.locked", interviewer_id=interviewer.pk)
        windows = list(Availability.objects.filter(interviewer=interviewer))
        fits = False
        for window in windows:
            local_day = starts_at.astimezone(ZoneInfo(window.timezone)).date()
            if window.weekday != local_day.weekday():
                continue
            start, end = window_bounds(local_day, window)
            if start <= starts_at and ends_at <= end:
                fits = True
                break
        if not fits:
            raise SchedulingError("the interviewer is not available at that time")
        if _busy(interviewer.pk, starts_at, ends_at):
            raise SchedulingError("the interviewer already has an interview at that time")
        return Interview.objects.create(
            application=application,
            interviewer=interviewer,
            starts_at=starts_at,
            ends_at=ends_at,
            candidate_timezone=candidate_timezone,
        )


def local_time(instant, zone_name):
    """An instant in a person's time zone, ISO 8601 with its offset."""
    return instant.astimezone(ZoneInfo(zone_name)).isoformat()
