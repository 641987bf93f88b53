from __future__ import annotations

from rest_framework.permissions import BasePermission

from oms.kernel.roles import Role, user_has_role
from partners.authentication import ChannelPrincipal


class IsStaffOrChannel(BasePermission):
    """Availability is for storefronts (channel key) and staff alike."""

    def has_permission(self, request, view):
        user = request.user
        return isinstance(user, ChannelPrincipal) or bool(getattr(user, "is_staff", False))


class IsStaffReader(BasePermission):
    """Any staff member may read; writes need the fulfillment role (or admin)."""

    message = "Changing stock needs the fulfillment role."

    def has_permission(self, request, view):
        user = request.user
        if isinstance(user, ChannelPrincipal) or not getattr(user, "is_staff", False):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return user_has_role(user, Role.FULFILLMENT)
