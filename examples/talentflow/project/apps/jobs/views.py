"""Job API: jobs with requirements, applying, matching, chord scoring, applications."""
from django.conf import settings
from django.db.models import Count, Prefetch
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.models import Role
from apps.accounts.permissions import RolePermission
from apps.candidates.models import CandidateSkill
from apps.candidates.views import candidate_queryset

from . import matching, tasks
from .models import Application, Job, JobSkill
from .serializers import ApplicationSerializer, JobSerializer


class JobViewSet(viewsets.ModelViewSet):
    serializer_class = JobSerializer
    permission_classes = [RolePermission]
    action_roles = {"apply": Role.RECRUITER, "matches": Role.VIEWER, "score": Role.RECRUITER,
                    "applications": Role.VIEWER, "snapshot": Role.RECRUITER, "scoring": Role.VIEWER}

    def get_queryset(self):
        qs = (
            Job.objects.filter(company_id=self.request.user.company_id)
            .annotate(n_applications=Count("applications"))
            .prefetch_related(Prefetch("requirements", queryset=JobSkill.objects.select_related("skill")))
        )
        state = self.request.query_params.get("status")
        if state:
            qs = qs.filter(status=state)
        return qs.order_by("-created_at", "id")

    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        job = self.get_object()
        try:
            application = matching.apply_to_job(job.pk, request.data.get("candidate"))
        except matching.ApplicationRejected as exc:
            return Response({"detail": exc.message}, status=exc.status)
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def applications(self, request, pk=None):
        job = self.get_object()
        apps = matching.rank_applications(list(job.applications.select_related("candidate")))
        return Response(ApplicationSerializer(apps, many=True).data)

    @action(detail=True, methods=["get"])
    def matches(self, request, pk=None):
        job = self.get_object()
        ranked = matching.rank_candidates(job, candidate_queryset(request.user.company_id))
        limit = min(int(request.query_params.get("limit", 20)), 100) if str(request.query_params.get("limit", "20")).isdigit() else 20
        return Response([
            {
                "candidate": c.pk,
                "name": c.full_name,
                "score": round(score, 6),
                "perfect": matching.is_perfect(score),
                "qualified": matching.meets_threshold(score, job.min_match_score),
            }
            for c, score in ranked[:limit]
        ])

    @action(detail=True, methods=["post"])
    def score(self, request, pk=None):
        """Score every application in parallel (chord) and store the scores."""
        job = self.get_object()
        result = tasks.start_scoring(job)
        if result is None:
            return Response({"job_id": job.pk, "scores": {}, "ranking": [], "qualified": []})
        outcome = result.get(timeout=settings.JOB_SCORING_TIMEOUT_SECONDS)
        tasks.store_scores(outcome)
        scoring_id = result.parent.id if result.parent is not None else None
        progress = tasks.scoring_progress(scoring_id) if scoring_id else None
        return Response({
            **outcome,
            "scoring_id": scoring_id,
            "progress": {"total": progress["total"], "completed": progress["completed"]} if progress else None,
        })

    @action(detail=True, methods=["get"], url_path=r"scoring/(?P<scoring_id>[0-9a-f-]{36})")
    def scoring(self, request, pk=None, scoring_id=None):
        """Progress of a scoring run: header tasks completed and their scores."""
        job = self.get_object()
        if tasks.scoring_job_id(scoring_id) != job.pk:
            return Response({"detail": "unknown scoring run"}, status=404)
        progress = tasks.scoring_progress(scoring_id)
        if progress is None:
            return Response({"detail": "unknown scoring run"}, status=404)
        return Response(progress)

    @action(detail=True, methods=["post"])
    def snapshot(self, request, pk=None):
        from apps.analytics.tasks import snapshot_pipeline

        job = self.get_object()
        snap = snapshot_pipeline(job.pk)
        return Response({"id": snap.pk, "application_count": snap.application_count,
                         "application_ids": snap.application_ids, "by_status": snap.by_status},
                        status=status.HTTP_201_CREATED)


class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApplicationSerializer
    permission_classes = [RolePermission]
    action_roles = {"transition": Role.RECRUITER}

    def get_queryset(self):
        return Application.objects.filter(job__company_id=self.request.user.company_id).select_related(
            "candidate", "job"
        ).order_by("id")

    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        application = self.get_object()
        target = request.data.get("status")
        allowed = Application.TRANSITIONS.get(application.status, set())
        if target not in allowed:
            return Response(
                {"detail": f"cannot move from {application.status} to {target!r}; allowed: {sorted(allowed)}"},
                status=400,
            )
        application.status = target
        application.save(update_fields=["status", "updated_at"])
        return Response(ApplicationSerializer(application).data)
