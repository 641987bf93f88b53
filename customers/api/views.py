"""Leads through the API: a storefront's contact form posts them with its channel key; staff list
them. The web form never chooses a lead's owner or stage: a new lead is new and unassigned."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.roles import Role, user_has_role
from partners.authentication import ChannelPrincipal

from .. import selectors, services
from ..filters import LeadFilter
from ..models import LeadSource
from . import serializers as s


class IsChannelOrStaff(BasePermission):
    message = "Leads are for channel keys and staff."

    def has_permission(self, request, view):
        user = request.user
        return isinstance(user, ChannelPrincipal) or bool(getattr(user, "is_staff", False))


class IsStaffForReads(BasePermission):
    message = "Only staff list leads."

    def has_permission(self, request, view):
        return request.method == "POST" or not isinstance(request.user, ChannelPrincipal)


class LeadListCreateApi(GenericAPIView):
    permission_classes = [IsChannelOrStaff, IsStaffForReads]
    serializer_class = s.LeadOutputSerializer
    filterset_class = LeadFilter

    def get_queryset(self):
        user = self.request.user
        managers = (Role.APPROVER, Role.ADMIN)
        return selectors.lead_list(viewer_id=user.pk, sees_all=any(user_has_role(user, r) for r in managers))

    @extend_schema(
        operation_id="leads_list",
        responses={200: s.LeadOutputSerializer(many=True), 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="leads_create",
        request=s.LeadInputSerializer,
        responses={201: s.LeadOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def post(self, request):
        data = s.LeadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = (
            getattr(request.user, "channel", None) if isinstance(request.user, ChannelPrincipal) else None
        )
        lead = services.lead_create(
            user=None if channel else request.user,
            actor_label=f"channel:{channel.code}" if channel else "",
            source=LeadSource.WEB_FORM if channel else LeadSource.STAFF,
            **data.validated_data,
        )
        return Response(s.LeadOutputSerializer(lead).data, status=status.HTTP_201_CREATED)
