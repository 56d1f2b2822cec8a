"""Skill matching: weighted scores of candidates against a job's requirements,
ranking, thresholds, and applying with the job's application limit."""
import math

from django.db import transaction

from apps.candidates.models import Candidate
from apps.common.hooks import checkpoint

from .models import Application, Job

SCORE_TOLERANCE = 1e-9


class ApplicationRejected(Exception):
    """The application cannot be accepted; ``status`` is the HTTP status."""

    def __init__(self, message, status=409):
        super().__init__(message)
        self.message = message
        self.status = status


def skill_fit(proficiency, required_level):
    """1.0 when the candidate has the required level or better, proportionally less below."""
    if not proficiency:
        return 0.0
    return min(proficiency / required_level, 1.0)


def weighted_score(requirements, skills):
    """Score in [0, 1] of ``skills`` ({slug: proficiency}) against ``requirements``.

    ``requirements`` is a list of ``(slug, weight, required_level)``; each
    requirement contributes its weight times the candidate's fit.
    """
    total = sum(weight for _, weight, _ in requirements)
    achieved = sum(weight * skill_fit(skills.get(slug), level) for slug, weight, level in requirements)
    return achieved / (total + SCORE_TOLERANCE)


def scores_equal(a, b):
    return math.isclose(a, b, rel_tol=0.0, abs_tol=SCORE_TOLERANCE)


def meets_threshold(score, threshold):
    """Whether ``score`` reaches ``threshold``."""
    return score >= threshold


def is_perfect(score):
    return scores_equal(score, 1.0)


def rank_key(score, tie_breaker):
    """Sort key: higher score first; equal scores (within float noise) by ``tie_breaker``."""
    return (-score, tie_breaker)


def job_requirements(job):
    return [(r.skill.slug, r.weight, r.required_level) for r in job.requirements.select_related("skill")]


def candidate_skills(candidate):
    return {link.skill.slug: link.proficiency for link in candidate.candidate_skills.select_related("skill")}


def score_candidate(job, candidate):
    return weighted_score(job_requirements(job), candidate_skills(candidate))


def rank_candidates(job, candidates):
    """``[(candidate, score)]`` best first; ties by candidate id."""
    requirements = job_requirements(job)
    scored = []
    for candidate in candidates:
        skills = {link.skill.slug: link.proficiency for link in candidate.candidate_skills.all()}
        scored.append((candidate, weighted_score(requirements, skills)))
    scored.sort(key=lambda item: rank_key(item[1], item[0].pk))
    return scored


def rank_applications(applications):
    """Applications best score first; equal scores by who applied first."""
    return sorted(applications, key=lambda a: rank_key(a.match_score or 0.0, (a.created_at, a.pk)))


def apply_to_job(job_id, candidate_id):
    """Create an application, enforcing the job's status, uniqueness and application limit."""
    with transaction.atomic():
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise ApplicationRejected("job does not exist", status=404)
        if job.status != Job.Status.OPEN:
            raise ApplicationRejected(f"job is {job.status}, not open")
        candidate = Candidate.objects.filter(pk=candidate_id, company_id=job.company_id).first()
        if candidate is None:
            raise ApplicationRejected("candidate does not exist", status=404)
        if Application.objects.filter(job=job, candidate=candidate).exists():
            raise ApplicationRejected("candidate has already applied to this job")
        count = Application.objects.filter(job=job).count()
        checkpoint("jobs.apply.after_limit_check", job_id=job.pk)
        if count >= job.max_applications:
            raise ApplicationRejected(f"job has reached its limit of {job.max_applications} applications")
        return Application.objects.create(job=job, candidate=candidate, match_score=score_candidate(job, candidate))
