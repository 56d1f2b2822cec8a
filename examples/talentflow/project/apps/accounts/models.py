"""Companies, users with roles, OAuth login state and refresh tokens."""
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from apps.common.validators import validate_timezone


class Company(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    INTERVIEWER = "interviewer", "Interviewer"
    RECRUITER = "recruiter", "Recruiter"
    ADMIN = "admin", "Admin"


class User(AbstractUser):
    email = models.EmailField(unique=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    # Set by the JWT authentication when an admin acts as this user.
    impersonator_id = None


class OAuthState(models.Model):
    """One authorization request: single use, bound to the browser that started it."""

    state = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64)
    redirect_to = models.CharField(max_length=200, default="/")
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class RefreshToken(models.Model):
    """A refresh token; each use replaces it by a successor in the same family."""

    jti = models.UUIDField(default=uuid.uuid4, unique=True)
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    impersonator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["family"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="one_active_refresh_token_per_family",
            )
        ]

    @property
    def active(self):
        return self.used_at is None and self.revoked_at is None
