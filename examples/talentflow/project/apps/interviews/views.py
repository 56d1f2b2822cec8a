"""Interview API: availability, free slots, booking, cancelling."""
from datetime import date, datetime

from django.contrib.auth import get_user_model
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from apps.accounts.permissions import IsCompanyMember, role_at_least
from apps.common.validators import validate_timezone
from apps.jobs.models import Application

from . import scheduling
from .models import Availability, Interview


class AvailabilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Availability
        fields = ["id", "weekday", "start_time", "end_time", "timezone"]

    def validate_timezone(self, value):
        from django.core.exceptions import ValidationError

        try:
            validate_timezone(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages[0]) from None
        return value

    def validate(self, attrs):
        if not 0 <= attrs["weekday"] <= 6:
            raise serializers.ValidationError({"weekday": "0 (Monday) to 6 (Sunday)"})
        if attrs["start_time"] >= attrs["end_time"]:
            raise serializers.ValidationError({"end_time": "must be after start_time"})
        return attrs


class InterviewSerializer(serializers.ModelSerializer):
    candidate_local_start = serializers.SerializerMethodField()
    interviewer_local_start = serializers.SerializerMethodField()

    class Meta:
        model = Interview
        fields = ["id", "application", "interviewer", "starts_at", "ends_at", "status",
                  "candidate_timezone", "candidate_local_start", "interviewer_local_start"]

    def get_candidate_local_start(self, obj):
        return scheduling.local_time(obj.starts_at, obj.candidate_timezone)

    def get_interviewer_local_start(self, obj):
        return scheduling.local_time(obj.starts_at, obj.interviewer.timezone)


def _interviewer(request, raw):
    User = get_user_model()
    return User.objects.filter(pk=raw, company_id=request.user.company_id).first() if str(raw).isdigit() else None


@api_view(["GET", "POST"])
@permission_classes([IsCompanyMember])
def availability(request):
    if request.method == "GET":
        return Response(AvailabilitySerializer(Availability.objects.filter(interviewer=request.user), many=True).data)
    if not role_at_least(request.user, "interviewer"):
        return Response({"detail": "only interviewers publish availability"}, status=403)
    serializer = AvailabilitySerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    serializer.save(interviewer=request.user)
    return Response(serializer.data, status=status.HTTP_201_CREATED)


@api_view(["GET"])
@permission_classes([IsCompanyMember])
def slots(request):
    interviewer = _interviewer(request, request.query_params.get("interviewer", ""))
    if interviewer is None:
        return Response({"detail": "unknown interviewer"}, status=404)
    try:
        first = date.fromisoformat(request.query_params["from"])
        last = date.fromisoformat(request.query_params["to"])
        duration = int(request.query_params.get("duration", 60))
    except (KeyError, ValueError):
        return Response({"detail": "from and to (YYYY-MM-DD) and an integer duration are required"}, status=400)
    if not 15 <= duration <= 240:
        return Response({"detail": "duration must be 15..240 minutes"}, status=400)
    try:
        found = scheduling.available_slots(interviewer, first, last, duration)
    except scheduling.SchedulingError as exc:
        return Response({"detail": exc.message}, status=exc.status)
    return Response({
        "interviewer": interviewer.pk,
        "slots": [s.isoformat().replace("+00:00", "Z") for s in found],
    })


@api_view(["GET", "POST"])
@permission_classes([IsCompanyMember])
def interviews(request):
    if request.method == "GET":
        qs = Interview.objects.filter(application__job__company_id=request.user.company_id).select_related("interviewer")
        return Response(InterviewSerializer(qs, many=True).data)
    if not role_at_least(request.user, "recruiter"):
        return Response({"detail": "only recruiters schedule interviews"}, status=403)
    application = Application.objects.filter(
        pk=request.data.get("application"), job__company_id=request.user.company_id
    ).first()
    interviewer = _interviewer(request, request.data.get("interviewer", ""))
    if application is None or interviewer is None:
        return Response({"detail": "unknown application or interviewer"}, status=404)
    try:
        starts_at = datetime.fromisoformat(str(request.data.get("starts_at", "")).replace("Z", "+00:00"))
        duration = int(request.data.get("duration_minutes", 60))
        zone = request.data.get("candidate_timezone", "UTC")
        validate_timezone(zone)
    except Exception as exc:  # noqa: BLE001 - any parse problem is the client's
        return Response({"detail": f"invalid request: {exc}"}, status=400)
    try:
        interview = scheduling.schedule_interview(application, interviewer, starts_at, duration, zone)
    except scheduling.SchedulingError as exc:
        return Response({"detail": exc.message}, status=exc.status)
    return Response(InterviewSerializer(interview).data, status=status.HTTP_201_CREATED)


@api_view(["POST"])
@permission_classes([IsCompanyMember])
def cancel(request, pk):
    interview = Interview.objects.filter(pk=pk, application__job__company_id=request.user.company_id).first()
    if interview is None:
        return Response({"detail": "not found"}, status=404)
    if not role_at_least(request.user, "recruiter"):
        return Response({"detail": "only recruiters cancel interviews"}, status=403)
    interview.status = Interview.Status.CANCELLED
    interview.save(update_fields=["status"])
    return Response(InterviewSerializer(interview).data)
