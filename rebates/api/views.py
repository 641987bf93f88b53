"""Read endpoints of the rebates app: programs (with terms) and accruals. Finance and admins see
everything; other staff (sales, order desk) see customer volume rebates only."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import BasePermission

from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.roles import Role, user_has_role
from partners.authentication import ChannelPrincipal

from ..filters import AccrualFilter, ProgramFilter
from ..models import Accrual, ProgramType, RebateProgram
from . import serializers as s

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class IsStaff(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return not isinstance(user, ChannelPrincipal) and bool(getattr(user, "is_staff", False))


def sees_all(user) -> bool:
    return user_has_role(user, Role.FINANCE) or user_has_role(user, Role.ADMIN)


def programs_visible_to(user) -> QuerySet[RebateProgram]:
    qs = RebateProgram.objects.all()
    return qs if sees_all(user) else qs.filter(program_type=ProgramType.CUSTOMER_VOLUME)


def accruals_visible_to(user) -> QuerySet[Accrual]:
    qs = Accrual.objects.all()
    return qs if sees_all(user) else qs.filter(program__program_type=ProgramType.CUSTOMER_VOLUME)


class RebateProgramListApi(ListAPIView):
    """Rebate programs (every version), newest version first per code."""

    permission_classes = [IsStaff]
    serializer_class = s.RebateProgramOutputSerializer
    filterset_class = ProgramFilter

    def get_queryset(self):
        return (
            programs_visible_to(self.request.user)
            .select_related("supplier", "customer", "customer_segment")
            .order_by("code", "-version")
        )

    @extend_schema(responses={200: s.RebateProgramOutputSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RebateProgramDetailApi(RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.RebateProgramDetailSerializer

    def get_queryset(self):
        return (
            programs_visible_to(self.request.user)
            .select_related("supplier", "customer", "customer_segment")
            .prefetch_related("tiers", "authorizations")
        )

    @extend_schema(responses={200: s.RebateProgramDetailSerializer, **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AccrualListApi(ListAPIView):
    """Accruals with their calculation basis, newest first."""

    permission_classes = [IsStaff]
    serializer_class = s.AccrualOutputSerializer
    filterset_class = AccrualFilter

    def get_queryset(self):
        return (
            accruals_visible_to(self.request.user)
            .select_related("program", "supplier", "customer", "product")
            .order_by("-pk")
        )

    @extend_schema(responses={200: s.AccrualOutputSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
