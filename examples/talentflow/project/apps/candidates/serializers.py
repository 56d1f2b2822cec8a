import hashlib

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.common.helpers import text as helpers
from apps.common.validators import validate_document_name, validate_phone

from .models import Candidate, Document, Note
from .utils import skill_slug


class SkillLevelsField(serializers.Field):
    """Read: ``[{"skill", "slug", "proficiency", "years"}]``; write: ``{"python": 5}``."""

    def to_representation(self, manager):
        return [
            {"skill": link.skill.name, "slug": link.skill.slug, "proficiency": link.proficiency, "years": link.years}
            for link in manager.all()
        ]

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError('expected an object like {"python": 4}')
        out = {}
        for name, level in data.items():
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
                raise serializers.ValidationError(f"{name}: proficiency {level!r} must be an integer from 1 to 5")
            slug = skill_slug(name)
            if not slug:
                raise serializers.ValidationError(f"{name!r} is not a skill name")
            out[slug] = level
        return out


class CandidateSerializer(serializers.ModelSerializer):
    skills = SkillLevelsField(source="candidate_skills", required=False)
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = Candidate
        fields = [
            "id", "first_name", "last_name", "full_name", "email", "phone", "location",
            "years_experience", "source", "external_id", "engagement_score", "profile_score",
            "skills", "created_at", "updated_at",
        ]
        read_only_fields = ["source", "engagement_score", "profile_score", "created_at", "updated_at"]

    def validate_email(self, value):
        email = helpers.normalize_email(value)
        company_id = self.context["request"].user.company_id
        qs = Candidate.objects.filter(company_id=company_id, email_normalized=email)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise serializers.ValidationError(f"a candidate with e-mail {email} already exists")
        return email

    def validate_phone(self, value):
        phone = helpers.normalize_phone(value)
        if phone:
            try:
                validate_phone(phone)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages[0]) from None
        return phone

    def create(self, validated_data):
        from .tasks import set_skills

        skills = validated_data.pop("candidate_skills", None)
        candidate = Candidate.objects.create(company_id=self.context["request"].user.company_id, **validated_data)
        if skills:
            set_skills(candidate, skills)
        return candidate

    def update(self, instance, validated_data):
        from .tasks import set_skills

        skills = validated_data.pop("candidate_skills", None)
        candidate = super().update(instance, validated_data)
        if skills is not None:
            set_skills(candidate, skills)
        return candidate


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, default=None)

    class Meta:
        model = Note
        fields = ["id", "body", "author", "created_at"]


class DocumentSerializer(serializers.ModelSerializer):
    text = serializers.CharField(write_only=True)

    class Meta:
        model = Document
        fields = ["id", "kind", "filename", "content_type", "size", "sha256", "uploaded_at", "text"]
        read_only_fields = ["size", "sha256", "uploaded_at"]

    def validate(self, attrs):
        try:
            validate_document_name(attrs.get("filename"), attrs.get("content_type"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"filename": exc.messages}) from None
        content = attrs.pop("text").encode("utf-8")
        from django.conf import settings

        if len(content) > settings.DOCUMENT_MAX_BYTES:
            raise serializers.ValidationError({"text": f"document larger than {settings.DOCUMENT_MAX_BYTES} bytes"})
        attrs["content"] = content
        attrs["size"] = len(content)
        attrs["sha256"] = hashlib.sha256(content).hexdigest()
        return attrs
