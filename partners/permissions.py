from rest_framework.permissions import BasePermission

from .authentication import ChannelPrincipal, PartnerPrincipal


class IsChannel(BasePermission):
    message = "This endpoint is for channel API keys."

    def has_permission(self, request, view):
        return isinstance(request.user, ChannelPrincipal)


class IsPartner(BasePermission):
    message = "This endpoint is for partner credentials."

    def has_permission(self, request, view):
        return isinstance(request.user, PartnerPrincipal)


class IsStaff(BasePermission):
    def has_permission(self, request, view):
        return bool(getattr(request.user, "is_staff", False))
