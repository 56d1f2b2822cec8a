"""Scoring every application of a job in parallel: a Celery chord whose header
tasks score one application each and whose callback ranks them."""
from celery import chord, shared_task
from celery.result import GroupResult
from django.core.cache import cache

from .matching import meets_threshold, rank_key, weighted_score
from .models import Application, Job


@shared_task(name="jobs.score_application", ignore_result=True)
def score_application(payload):
    """Score one application; ``payload`` holds everything needed (no database access)."""
    requirements = [tuple(r) for r in payload["requirements"]]
    return {
        "application_id": payload["application_id"],
        "score": weighted_score(requirements, payload["skills"]),
    }


@shared_task(name="jobs.collect_scores")
def collect_scores(results, job_id, threshold):
    """Chord callback: rank the header results and pick the qualified applications."""
    ranked = sorted(results, key=lambda r: rank_key(r["score"], r["application_id"]))
    return {
        "job_id": job_id,
        "scores": {str(r["application_id"]): r["score"] for r in results},
        "ranking": [r["application_id"] for r in ranked],
        "qualified": [r["application_id"] for r in ranked if meets_threshold(r["score"], threshold)],
    }


def scoring_payloads(job):
    requirements = [[r.skill.slug, r.weight, r.required_level] for r in job.requirements.select_related("skill")]
    applications = Application.objects.filter(job=job).select_related("candidate").prefetch_related(
        "candidate__candidate_skills__skill"
    ).order_by("id")
    return [
        {
            "application_id": a.pk,
            "requirements": requirements,
            "skills": {link.skill.slug: link.proficiency for link in a.candidate.candidate_skills.all()},
        }
        for a in applications
    ]


def start_scoring(job):
    """Launch the chord; returns its AsyncResult (the callback's result).

    The header's group result is saved in the result backend, so the progress
    of a run can be followed by its ``scoring_id`` (``result.parent.id``).
    """
    payloads = scoring_payloads(job)
    if not payloads:
        return None
    result = chord(score_application.s(p) for p in payloads)(collect_scores.s(job.pk, job.min_match_score))
    if result.parent is not None:
        result.parent.save()
        cache.set(_scoring_key(result.parent.id), job.pk, SCORING_RUN_TTL_SECONDS)
    return result


SCORING_RUN_TTL_SECONDS = 3600


def _scoring_key(scoring_id):
    return f"jobs:scoring:{scoring_id}"


def scoring_job_id(scoring_id):
    """The job a scoring run belongs to (``None`` when unknown or expired)."""
    return cache.get(_scoring_key(scoring_id))


def scoring_progress(scoring_id):
    """How far a scoring run got: header tasks done and the scores they returned.

    Returns ``None`` for an unknown run.
    """
    group = GroupResult.restore(scoring_id, app=score_application.app)
    if group is None:
        return None
    scores = {}
    for part in group.results:
        if part.successful() and isinstance(part.result, dict):
            scores[str(part.result["application_id"])] = part.result["score"]
    return {"scoring_id": scoring_id, "total": len(group.results), "completed": len(scores), "scores": scores}


def store_scores(result):
    """Persist a ``collect_scores`` result on the applications."""
    for application_id, score in result["scores"].items():
        Application.objects.filter(pk=int(application_id)).update(match_score=score)


@shared_task(name="jobs.rescore_open_jobs")
def rescore_open_jobs():
    launched = 0
    for job in Job.objects.filter(status=Job.Status.OPEN):
        if start_scoring(job) is not None:
            launched += 1
    return launched
