"""Background work on candidates.

Bulk import and partner sync (both go through ``upsert_candidate``, which never
creates a second candidate with the same e-mail in a company), deduplication,
engagement counters, profile scores and the CSV export.
"""
import csv
import hashlib
import io
import ipaddress
import json
import socket
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import Request

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from apps.common.helpers import text as helpers
from apps.common.hooks import checkpoint
from apps.common.http import opener
from apps.common.validators import validate_phone

from .models import Candidate, CandidateSkill, Document, Note, Skill
from .utils import parse_skill_list, skill_slug

LOCK_NAMESPACE = 7301
CANDIDATE_FIELDS = ("first_name", "last_name", "email", "phone", "location", "years_experience", "external_id")


class RowError(ValueError):
    """One import row is invalid."""


def lock_company_candidates(company_id):
    """Serialise writers of one company's candidate set until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, company_id])


def clean_row(row):
    """Validate and normalise one candidate record (import file or partner feed)."""
    if not isinstance(row, dict):
        raise RowError(f"expected an object, got {type(row).__name__}")
    data = {}
    first = (row.get("first_name") or "").strip()
    last = (row.get("last_name") or "").strip()
    if not first and row.get("name"):
        first, last = helpers.split_full_name(row["name"])
    if not first:
        raise RowError("first_name is required")
    data["first_name"], data["last_name"] = first[:100], last[:100]
    email = helpers.normalize_email(row.get("email"))
    try:
        validate_email(email)
    except ValidationError:
        raise RowError(f"email {row.get('email')!r} is not valid") from None
    data["email"] = email
    phone = helpers.normalize_phone(row.get("phone") or "")
    if phone:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            raise RowError(exc.messages[0]) from None
    data["phone"] = phone
    data["location"] = (row.get("location") or "").strip()[:120]
    years = row.get("years_experience")
    if years in (None, ""):
        data["years_experience"] = None
    else:
        try:
            years = int(years)
        except (TypeError, ValueError):
            raise RowError(f"years_experience {years!r} is not a number") from None
        if not 0 <= years <= 70:
            raise RowError(f"years_experience {years} is out of range 0..70")
        data["years_experience"] = years
    data["external_id"] = str(row.get("external_id") or "")[:100]
    skills = row.get("skills") or {}
    try:
        if isinstance(skills, str):
            skills = parse_skill_list(skills)
        elif isinstance(skills, dict):
            skills = {skill_slug(k): int(v) for k, v in skills.items()}
        else:
            raise RowError("skills must be an object or a 'name:level' list")
    except (TypeError, ValueError) as exc:
        raise RowError(f"skills: {exc}") from None
    for slug, level in skills.items():
        if not slug or not 1 <= level <= 5:
            raise RowError(f"skill {slug!r}: proficiency {level} is not between 1 and 5")
    data["skills"] = skills
    return data


def set_skills(candidate, skills, merge=False):
    """Give ``candidate`` the skills ``{slug_or_name: proficiency}``; unknown skills are created."""
    if not merge:
        candidate.candidate_skills.exclude(skill__slug__in=[skill_slug(s) for s in skills]).delete()
    for name, level in skills.items():
        slug = skill_slug(name)
        skill = Skill.objects.filter(slug=slug).first()
        if skill is None:
            skill, _ = Skill.objects.get_or_create(slug=slug, defaults={"name": name if name != slug else slug.replace("-", " ").title()})
        link = CandidateSkill.objects.filter(candidate=candidate, skill=skill).first()
        if link is None:
            CandidateSkill.objects.create(candidate=candidate, skill=skill, proficiency=level)
        elif not merge or level > link.proficiency:
            link.proficiency = level
            link.save(update_fields=["proficiency"])


def upsert_candidate(company_id, data, source=Candidate.Source.IMPORT):
    """Create the candidate or update the one with the same e-mail; returns ``(candidate, created)``."""
    email = helpers.normalize_email(data["email"])
    with transaction.atomic():
        existing = (
            Candidate.objects.filter(company_id=company_id, email_normalized=email).order_by("id").first()
        )
        checkpoint("candidates.upsert.after_lookup", company_id=company_id, email=email)
        if existing is not None:
            for field in CANDIDATE_FIELDS:
                value = data.get(field)
                if value not in (None, "") and field != "email":
                    setattr(existing, field, value)
            existing.save()
            if data.get("skills"):
                set_skills(existing, data["skills"], merge=True)
            return existing, False
        candidate = Candidate.objects.create(
            company_id=company_id,
            source=source,
            **{field: data.get(field) if field == "years_experience" else (data.get(field) or "") for field in CANDIDATE_FIELDS},
        )
        if data.get("skills"):
            set_skills(candidate, data["skills"])
        return candidate, True


def import_rows(company_id, rows, source=Candidate.Source.IMPORT):
    """Upsert every valid row; invalid rows are reported with their position."""
    if len(rows) > settings.CANDIDATE_IMPORT_MAX_ROWS:
        raise RowError(f"{len(rows)} rows exceed the limit of {settings.CANDIDATE_IMPORT_MAX_ROWS}")
    result = {"created": 0, "updated": 0, "errors": [], "ids": []}
    for position, row in enumerate(rows, start=1):
        try:
            data = clean_row(row)
        except RowError as exc:
            result["errors"].append({"row": position, "error": str(exc)})
            continue
        candidate, created = upsert_candidate(company_id, data, source=source)
        result["created" if created else "updated"] += 1
        result["ids"].append(candidate.pk)
    return result


def parse_csv_rows(text):
    """Rows of an uploaded CSV file (header: first_name,last_name,email,phone,location,years_experience,skills)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in reader.fieldnames:
        raise RowError("CSV header must include an 'email' column")
    return [dict(row) for row in reader]


@shared_task(name="candidates.import")
def import_candidates(company_id, rows):
    return import_rows(company_id, rows)


# ------------------------------------------------------------ deduplication


def _merge_into(keeper, other):
    from apps.jobs.models import Application

    Note.objects.filter(candidate=other).update(candidate=keeper)
    Document.objects.filter(candidate=other).update(candidate=keeper)
    for link in CandidateSkill.objects.filter(candidate=other):
        mine = CandidateSkill.objects.filter(candidate=keeper, skill_id=link.skill_id).first()
        if mine is None:
            link.candidate = keeper
            link.save(update_fields=["candidate"])
        elif link.proficiency > mine.proficiency:
            mine.proficiency = link.proficiency
            mine.save(update_fields=["proficiency"])
    for application in Application.objects.filter(candidate=other):
        if Application.objects.filter(candidate=keeper, job_id=application.job_id).exists():
            application.delete()
        else:
            application.candidate = keeper
            application.save(update_fields=["candidate"])
    for field in ("phone", "location", "external_id"):
        if not getattr(keeper, field) and getattr(other, field):
            setattr(keeper, field, getattr(other, field))
    if keeper.years_experience is None:
        keeper.years_experience = other.years_experience
    keeper.engagement_score += other.engagement_score
    keeper.save()
    other.delete()


def deduplicate_company(company_id):
    """Merge candidates sharing an e-mail into the oldest one; returns how many were merged."""
    merged = 0
    with transaction.atomic():
        lock_company_candidates(company_id)
        groups = (
            Candidate.objects.filter(company_id=company_id)
            .values("email_normalized")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("email_normalized")
        )
        for group in list(groups):
            members = list(
                Candidate.objects.filter(company_id=company_id, email_normalized=group["email_normalized"])
                .order_by("created_at", "id")
            )
            keeper = members[0]
            for other in members[1:]:
                _merge_into(keeper, other)
                merged += 1
    return merged


@shared_task(name="candidates.deduplicate")
def deduplicate(company_id):
    return {"merged": deduplicate_company(company_id)}


@shared_task(name="candidates.deduplicate_all")
def deduplicate_all():
    from apps.accounts.models import Company

    return {str(c.pk): deduplicate_company(c.pk) for c in Company.objects.order_by("pk")}


# --------------------------------------------------------------- engagement


def bump_engagement(candidate_id, points):
    """Add ``points`` to the candidate's engagement score; returns the new score."""
    candidate = Candidate.objects.filter(pk=candidate_id).first()
    if candidate is None:
        raise Candidate.DoesNotExist(f"candidate {candidate_id} does not exist")
    checkpoint("candidates.engagement.before_update", candidate_id=candidate_id)
    candidate.engagement_score += points
    candidate.save(update_fields=["engagement_score"])
    return candidate.engagement_score


@shared_task(name="candidates.record_engagement")
def record_engagement(candidate_id, points=1):
    return bump_engagement(candidate_id, points)


# ------------------------------------------------------------ profile score

EXPERIENCE_CAP_YEARS = 15
ASSUMED_YEARS_WHEN_UNKNOWN = 1
PROFICIENCY_POINTS = {1: 2, 2: 4, 3: 6, 4: 8, 5: 10}
SKILL_POINTS_CAP = 50


def profile_score(candidate):
    """0..100: experience (2 per year, capped), skills (by proficiency, capped), completeness."""
    years = candidate.years_experience or ASSUMED_YEARS_WHEN_UNKNOWN
    experience = min(years, EXPERIENCE_CAP_YEARS) * 2
    skills = min(
        sum(PROFICIENCY_POINTS[link.proficiency] for link in candidate.candidate_skills.all()),
        SKILL_POINTS_CAP,
    )
    completeness = 5 * sum(bool(value) for value in (candidate.email, candidate.phone, candidate.location))
    if candidate.documents.exists():
        completeness += 5
    return float(experience + skills + completeness)


@shared_task(name="candidates.score_profile")
def score_candidate_profile(candidate_id):
    candidate = Candidate.objects.get(pk=candidate_id)
    score = profile_score(candidate)
    Candidate.objects.filter(pk=candidate_id).update(profile_score=score)
    return score


@shared_task(name="candidates.rescore_company")
def rescore_company(company_id):
    """Recompute every profile score; returns candidate ids, best first."""
    ranking = []
    for candidate in Candidate.objects.filter(company_id=company_id).prefetch_related("candidate_skills"):
        score = profile_score(candidate)
        Candidate.objects.filter(pk=candidate.pk).update(profile_score=score)
        ranking.append((score, candidate.pk))
    ranking.sort(key=lambda item: (-item[0], item[1]))
    return [pk for _, pk in ranking]


# --------------------------------------------------------------- CSV export

EXPORT_COLUMNS = [
    "id", "first_name", "last_name", "email", "phone", "location",
    "years_experience", "skills", "engagement_score", "created",
]


def _export_date(value):
    """Dates in exports are the UTC calendar day of ``value``."""
    return timezone.localtime(value, timezone.get_fixed_timezone(0)).strftime("%x")


def render_export(candidates):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for c in candidates:
        skills = ";".join(f"{link.skill.slug}:{link.proficiency}" for link in c.candidate_skills.all())
        writer.writerow([
            c.pk, c.first_name, c.last_name, c.email, c.phone, c.location,
            "" if c.years_experience is None else c.years_experience,
            skills, c.engagement_score, _export_date(c.created_at),
        ])
    return buffer.getvalue()


def _encode_export(text):
    """Exports are plain bytes that every spreadsheet opens."""
    return text.encode("ascii", errors="replace")


def export_candidates_csv(company_id, ids=None):
    """The company's candidates as CSV bytes."""
    from django.db.models import Prefetch

    qs = Candidate.objects.filter(company_id=company_id).prefetch_related(
        Prefetch("candidate_skills", queryset=CandidateSkill.objects.select_related("skill"))
    ).order_by("id")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return _encode_export(render_export(qs))


@shared_task(name="candidates.export")
def export_candidates(company_id):
    """Export to a stored document-like record; returns its sha256 and size."""
    data = export_candidates_csv(company_id)
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "csv": data.decode("utf-8")}


# -------------------------------------------------------------- partner sync


class SyncError(Exception):
    """The partner URL is not allowed or did not return a candidate feed."""


def validate_sync_url(url):
    """Only http(s) URLs whose host resolves to public addresses (or is trusted)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        raise SyncError(f"URL scheme {parts.scheme!r} is not allowed (http or https only)")
    host = parts.hostname
    if not host:
        raise SyncError(f"URL {url!r} has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise SyncError(f"URL {url!r} has an invalid port") from None
    if f"{host}:{port}" in settings.CANDIDATE_SYNC["TRUSTED_HOSTS"]:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise SyncError(f"host {host!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise SyncError(f"host {host!r} resolves to the non-public address {address}")


def fetch_feed(url):
    """GET the partner feed, validating the URL of every redirect hop."""
    conf = settings.CANDIDATE_SYNC
    for _ in range(conf["MAX_REDIRECTS"] + 1):
        request = Request(url, headers={"Accept": "application/json", "User-Agent": "TalentFlow-Sync/1.0"})
        try:
            with opener().open(request, timeout=conf["TIMEOUT_SECONDS"]) as response:
                body = response.read(conf["MAX_BYTES"] + 1)
        except HTTPError as exc:
            if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                url = urljoin(url, exc.headers["Location"])
                continue
            raise SyncError(f"partner answered HTTP {exc.code}") from None
        except (URLError, OSError) as exc:
            raise SyncError(f"partner unreachable: {exc}") from None
        if len(body) > conf["MAX_BYTES"]:
            raise SyncError(f"feed larger than {conf['MAX_BYTES']} bytes")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SyncError("feed is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("candidates"), list):
            raise SyncError("feed must be an object with a 'candidates' list")
        return payload["candidates"]
    raise SyncError(f"more than {conf['MAX_REDIRECTS']} redirects")


@shared_task(name="candidates.sync")
def sync_candidates(company_id, url):
    rows = fetch_feed(url)
    return import_rows(company_id, rows, source=Candidate.Source.SYNC)
