"""Candidates, their skills (with proficiency), notes and documents."""
from django.conf import settings
from django.db import models

from apps.common.helpers.text import normalize_email

from .utils import display_name, skill_slug


class Skill(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["slug"]

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = skill_slug(self.name)
        super().save(*args, **kwargs)

    def __str__(self):
        return self.name


class Candidate(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual"
        IMPORT = "import"
        SYNC = "sync"

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="candidates")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField()
    email_normalized = models.CharField(max_length=254, db_index=True, editable=False, default="")
    phone = models.CharField(max_length=20, blank=True)
    location = models.CharField(max_length=120, blank=True)
    years_experience = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=100, blank=True)
    engagement_score = models.IntegerField(default=0)
    sourced_for = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="sourced_candidates"
    )
    profile_score = models.FloatField(null=True, blank=True)
    skills = models.ManyToManyField(Skill, through="CandidateSkill", related_name="candidates")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["company", "email_normalized"], name="candidate_company_email")]

    def save(self, *args, **kwargs):
        self.email_normalized = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def full_name(self):
        return display_name(self)

    def __str__(self):
        return self.full_name


class CandidateSkill(models.Model):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="candidate_skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="candidate_skills")
    proficiency = models.PositiveSmallIntegerField()
    years = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "skill"], name="unique_candidate_skill"),
            models.CheckConstraint(
                condition=models.Q(proficiency__gte=1, proficiency__lte=5), name="proficiency_1_to_5"
            ),
        ]
        ordering = ["skill__slug"]


class Note(models.Model):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class Document(models.Model):
    class Kind(models.TextChoices):
        RESUME = "resume"
        COVER_LETTER = "cover_letter"
        OTHER = "other"

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RESUME)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
