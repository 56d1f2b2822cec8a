"""Role-based permissions. Every object belongs to a company; users only ever
see their own company's objects, and what they may do depends on their role."""
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Role

ROLE_RANK = {Role.VIEWER: 0, Role.INTERVIEWER: 1, Role.RECRUITER: 2, Role.ADMIN: 3}


def role_at_least(user, role):
    """Whether ``user``'s role is ``role`` or a stronger one."""
    return ROLE_RANK.get(getattr(user, "role", None), -1) >= ROLE_RANK[role]


def company_id_of(obj):
    """The company an object belongs to (directly or through its parents)."""
    for path in ("company_id", "candidate.company_id", "job.company_id", "application.job.company_id"):
        target = obj
        try:
            for attr in path.split("."):
                target = getattr(target, attr)
        except AttributeError:
            continue
        return target
    return None


class IsCompanyMember(BasePermission):
    """Authenticated, active, member of a company; objects of that company only."""

    message = "You are not a member of this company."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.company_id)

    def has_object_permission(self, request, view, obj):
        return company_id_of(obj) == request.user.company_id


class RolePermission(IsCompanyMember):
    """Company member whose role allows the request's method.

    Views set ``read_role``, ``write_role`` and ``delete_role``; viewsets may
    name a role per action in ``action_roles``.
    """

    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        action_roles = getattr(view, "action_roles", {})
        action = getattr(view, "action", None)
        if action in action_roles:
            needed = action_roles[action]
        elif request.method in SAFE_METHODS:
            needed = getattr(view, "read_role", Role.VIEWER)
        elif request.method == "DELETE":
            needed = getattr(view, "delete_role", Role.RECRUITER)
        else:
            needed = getattr(view, "write_role", Role.VIEWER)
        return role_at_least(request.user, needed)


class CanImpersonate(IsCompanyMember):
    """Team leads (recruiters and admins) may act as a member of their team."""

    message = "Your role does not allow impersonation."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return role_at_least(request.user, Role.RECRUITER)


def check_impersonation_target(admin, target):
    """Anyone may be impersonated while active, except oneself."""
    if not target.is_active:
        raise PermissionDenied("target user is inactive")
    if target.pk == admin.pk:
        raise PermissionDenied("administrators cannot impersonate themselves")
