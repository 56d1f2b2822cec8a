"""Candidate API: CRUD, skills, notes, documents, search, import, dedup, export, sync."""
from django.db import connection
from django.db.models import Prefetch
from django.http import HttpResponse
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.models import Role
from apps.accounts.permissions import RolePermission

from . import tasks
from .models import Candidate, CandidateSkill
from .serializers import CandidateSerializer, DocumentSerializer, NoteSerializer


def candidate_queryset(company_id):
    """Candidates of a company with their skills (and proficiency) loaded in bulk."""
    return Candidate.objects.filter(company_id=company_id).prefetch_related("skills")


class CandidateViewSet(viewsets.ModelViewSet):
    serializer_class = CandidateSerializer
    permission_classes = [RolePermission]
    action_roles = {
        "notes": Role.VIEWER,
        "add_note": Role.INTERVIEWER,
        "engagement": Role.INTERVIEWER,
        "search": Role.VIEWER,
        "export": Role.RECRUITER,
        "deduplicate": Role.ADMIN,
        "sync": Role.ADMIN,
    }

    def get_queryset(self):
        qs = candidate_queryset(self.request.user.company_id).order_by("id")
        skill = self.request.query_params.get("skill")
        if skill:
            qs = qs.filter(candidate_skills__skill__slug=skill)
            level = self.request.query_params.get("min_level")
            if level and level.isdigit():
                qs = qs.filter(candidate_skills__skill__slug=skill, candidate_skills__proficiency__gte=int(level))
        return qs.distinct()

    # ---------------------------------------------------------------- notes
    @action(detail=True, methods=["get"], url_path="notes")
    def notes(self, request, pk=None):
        candidate = self.get_object()
        return Response(NoteSerializer(candidate.notes.select_related("author"), many=True).data)

    @notes.mapping.post
    def add_note(self, request, pk=None):
        candidate = self.get_object()
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save(candidate=candidate, author=request.user)
        tasks.record_engagement.delay(candidate.pk, 1)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    # ------------------------------------------------------------ documents
    @action(detail=True, methods=["get", "post"], url_path="documents")
    def documents(self, request, pk=None):
        candidate = self.get_object()
        if request.method == "GET":
            return Response(DocumentSerializer(candidate.documents.all(), many=True).data)
        serializer = DocumentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save(candidate=candidate, uploaded_by=request.user)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    # ---------------------------------------------------- engagement, score
    @action(detail=True, methods=["post"])
    def engagement(self, request, pk=None):
        candidate = self.get_object()
        points = request.data.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 100:
            return Response({"points": "must be an integer from 1 to 100"}, status=400)
        score = tasks.record_engagement(candidate.pk, points)
        return Response({"id": candidate.pk, "engagement_score": score})

    @action(detail=True, methods=["post"])
    def score(self, request, pk=None):
        candidate = self.get_object()
        value = tasks.score_candidate_profile(candidate.pk)
        return Response({"id": candidate.pk, "profile_score": value})

    # --------------------------------------------------------------- search
    @action(detail=False, methods=["get"])
    def search(self, request):
        term = (request.query_params.get("q") or "").strip()
        order = search_order_clause(request.query_params.get("ordering"))
        try:
            limit = min(max(int(request.query_params.get("limit", 20)), 1), 100)
            offset = max(int(request.query_params.get("offset", 0)), 0)
        except ValueError:
            return Response({"detail": "limit and offset must be integers"}, status=400)
        ids = run_search(request.user.company_id, term, order, limit, offset)
        by_id = {c.pk: c for c in candidate_queryset(request.user.company_id).filter(pk__in=ids)}
        results = [by_id[pk] for pk in ids if pk in by_id]
        return Response({"count": len(results), "results": CandidateSerializer(results, many=True).data})

    # ------------------------------------------------------- bulk operations
    @action(detail=False, methods=["post"], url_path="import")
    def bulk_import(self, request):
        if request.content_type and request.content_type.startswith("text/csv"):
            try:
                rows = tasks.parse_csv_rows(request.body.decode("utf-8"))
            except (UnicodeDecodeError, tasks.RowError) as exc:
                return Response({"detail": str(exc)}, status=400)
        else:
            rows = request.data.get("candidates") if isinstance(request.data, dict) else None
            if not isinstance(rows, list):
                return Response({"detail": "expected {\"candidates\": [...]} or a text/csv body"}, status=400)
        try:
            result = tasks.import_candidates(request.user.company_id, rows)
        except tasks.RowError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(result, status=200)

    @action(detail=False, methods=["post"])
    def deduplicate(self, request):
        return Response(tasks.deduplicate(request.user.company_id))

    @action(detail=False, methods=["get"])
    def export(self, request):
        data = tasks.export_candidates_csv(request.user.company_id)
        response = HttpResponse(data, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="candidates.csv"'
        return response

    @action(detail=False, methods=["post"])
    def sync(self, request):
        url = request.data.get("url")
        if not isinstance(url, str) or not url:
            return Response({"url": "required"}, status=400)
        try:
            result = tasks.sync_candidates(request.user.company_id, url)
        except tasks.SyncError as exc:
            return Response({"detail": str(exc)}, status=400)
        except tasks.RowError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(result)


SEARCH_ORDERINGS = {
    "rank": "rank DESC",
    "name": "c.last_name ASC, c.first_name ASC",
    "-name": "c.last_name DESC, c.first_name DESC",
    "created": "c.created_at ASC",
    "-created": "c.created_at DESC",
    "experience": "c.years_experience ASC NULLS FIRST",
    "-experience": "c.years_experience DESC NULLS LAST",
    "engagement": "c.engagement_score ASC",
    "-engagement": "c.engagement_score DESC",
}


def search_order_clause(ordering):
    """SQL ORDER BY for a public ordering name, or a column of the candidate table."""
    key = ordering or "rank"
    return SEARCH_ORDERINGS.get(key, key)


_DOCUMENT = (
    "to_tsvector('simple', coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '') || ' ' "
    "|| coalesce(c.email, '') || ' ' || coalesce(c.location, ''))"
)


def run_search(company_id, term, order, limit, offset):
    """Full-text search over names, e-mail and location; returns candidate ids in order."""
    sql = (
        f"SELECT c.id, ts_rank({_DOCUMENT}, plainto_tsquery('simple', %s)) AS rank "
        "FROM candidates_candidate c "
        f"WHERE c.company_id = %s AND (%s = '' OR {_DOCUMENT} @@ plainto_tsquery('simple', %s) "
        "OR c.email_normalized LIKE %s) "
        f"ORDER BY {order}, c.id LIMIT %s OFFSET %s"
    )
    like = "%" + term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connection.cursor() as cursor:
        cursor.execute(sql, [term, company_id, term, term, like, limit, offset])
        return [row[0] for row in cursor.fetchall()]
