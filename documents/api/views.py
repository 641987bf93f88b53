"""Documents through the API: list and read them, fetch the PDF (each fetch is one view-log row)
and page through a document's view log. Staff with an order, fulfillment or finance role."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.roles import Role, user_has_role
from oms.kernel.security import client_ip

from ..filters import DocumentFilter, DocumentViewFilter
from ..models import Document, DocumentView
from ..selectors import document_list, document_view_log
from ..services import view_record
from ..states import ViewChannel
from ..views import file_response
from . import serializers as s

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
READERS = (Role.ORDER_DESK, Role.FULFILLMENT, Role.FINANCE, Role.APPROVER, Role.ADMIN)


class IsDocumentReader(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(getattr(user, "is_staff", False)) and any(user_has_role(user, r) for r in READERS)


class DocumentListApi(ListAPIView):
    """Documents, newest first; every version is a row (`current=true` for the latest only)."""

    permission_classes = [IsDocumentReader]
    serializer_class = s.DocumentOutputSerializer
    filterset_class = DocumentFilter

    def get_queryset(self):
        return document_list()

    @extend_schema(responses={200: s.DocumentOutputSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DocumentDetailApi(RetrieveAPIView):
    permission_classes = [IsDocumentReader]
    serializer_class = s.DocumentDetailOutputSerializer

    def get_queryset(self):
        return Document.objects.prefetch_related("events")

    @extend_schema(responses={200: s.DocumentDetailOutputSerializer, **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DocumentFileApi(APIView):
    permission_classes = [IsDocumentReader]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
            **ERRORS,
        }
    )
    def get(self, request, pk: int):
        document = get_object_or_404(Document, pk=pk)
        response = file_response(document, download=True)
        view_record(
            document_id=document.pk,
            channel=ViewChannel.API,
            action="download",
            user=request.user,
            who=request.user.get_username(),
            ip=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return response


class DocumentViewLogApi(ListAPIView):
    """Who opened a document, newest first."""

    permission_classes = [IsDocumentReader]
    serializer_class = s.DocumentViewOutputSerializer
    filterset_class = DocumentViewFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no document
            return DocumentView.objects.none()
        document = get_object_or_404(Document.objects.only("id"), pk=self.kwargs["pk"])
        return document_view_log(document.pk)

    @extend_schema(responses={200: s.DocumentViewOutputSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
