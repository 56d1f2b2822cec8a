from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.candidates.models import Skill
from apps.candidates.utils import skill_slug
from apps.common.validators import validate_weight

from .models import Application, Job, JobSkill


class RequirementSerializer(serializers.Serializer):
    skill = serializers.CharField()
    weight = serializers.FloatField()
    required_level = serializers.IntegerField(min_value=1, max_value=5, default=3)

    def validate_weight(self, value):
        try:
            validate_weight(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0]) from None
        return value

    def validate_skill(self, value):
        slug = skill_slug(value)
        if not slug:
            raise serializers.ValidationError(f"{value!r} is not a skill name")
        return slug


class JobSerializer(serializers.ModelSerializer):
    requirements = RequirementSerializer(many=True, required=False)
    application_count = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "title", "description", "location", "status", "max_applications",
            "min_match_score", "requirements", "application_count", "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_application_count(self, job):
        return getattr(job, "n_applications", None) if hasattr(job, "n_applications") else job.applications.count()

    def to_representation(self, job):
        data = super().to_representation(job)
        data["requirements"] = [
            {"skill": r.skill.slug, "weight": r.weight, "required_level": r.required_level}
            for r in job.requirements.all()
        ]
        return data

    def validate_min_match_score(self, value):
        if not 0.0 <= value <= 1.0:
            raise serializers.ValidationError("must be between 0 and 1")
        return value

    def validate_requirements(self, value):
        slugs = [r["skill"] for r in value]
        if len(set(slugs)) != len(slugs):
            raise serializers.ValidationError("a skill is listed twice")
        return value

    def _save_requirements(self, job, requirements):
        job.requirements.all().delete()
        for r in requirements:
            skill = Skill.objects.filter(slug=r["skill"]).first()
            if skill is None:
                skill = Skill.objects.create(name=r["skill"].replace("-", " ").title(), slug=r["skill"])
            JobSkill.objects.create(job=job, skill=skill, weight=r["weight"], required_level=r["required_level"])

    def create(self, validated_data):
        requirements = validated_data.pop("requirements", [])
        job = Job.objects.create(company_id=self.context["request"].user.company_id, **validated_data)
        self._save_requirements(job, requirements)
        return job

    def update(self, instance, validated_data):
        requirements = validated_data.pop("requirements", None)
        job = super().update(instance, validated_data)
        if requirements is not None:
            self._save_requirements(job, requirements)
        return job


class ApplicationSerializer(serializers.ModelSerializer):
    candidate_name = serializers.CharField(source="candidate.full_name", read_only=True)

    class Meta:
        model = Application
        fields = ["id", "job", "candidate", "candidate_name", "status", "match_score", "created_at"]
        read_only_fields = fields
