"""Jobs with weighted skill requirements, and applications to them."""
from django.db import models

from apps.common.validators import validate_weight


class Job(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        CLOSED = "closed"

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="jobs")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    max_applications = models.PositiveIntegerField(default=100)
    min_match_score = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self):
        return self.title


class JobSkill(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="requirements")
    skill = models.ForeignKey("candidates.Skill", on_delete=models.CASCADE, related_name="job_requirements")
    weight = models.FloatField(validators=[validate_weight])
    required_level = models.PositiveSmallIntegerField(default=3)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "skill"], name="unique_job_skill")]
        ordering = ["id"]


class Application(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied"
        SCREENING = "screening"
        INTERVIEW = "interview"
        OFFER = "offer"
        HIRED = "hired"
        REJECTED = "rejected"

    TRANSITIONS = {
        "applied": {"screening", "rejected"},
        "screening": {"interview", "rejected"},
        "interview": {"offer", "rejected"},
        "offer": {"hired", "rejected"},
        "hired": set(),
        "rejected": set(),
    }

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="applications")
    candidate = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="applications")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPLIED)
    match_score = models.FloatField(null=True, blank=True)
    reported = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "candidate"], name="unique_application")]
        ordering = ["id"]
