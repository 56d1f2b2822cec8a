from rest_framework import serializers

from .models import Role, User


class UserSerializer(serializers.ModelSerializer):
    company = serializers.CharField(source="company.slug", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "role", "company", "timezone", "is_active"]
        read_only_fields = ["id", "username", "email", "company"]


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
