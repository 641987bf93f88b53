"""The exception summary for other tools: the counts of the workbench's queues."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer
from partners.permissions import IsStaff

from .. import selectors
from .serializers import ExceptionSummaryOutputSerializer


class ExceptionSummaryApi(APIView):
    """Staff: how many rows each exception queue holds (jeopardy by priority, holds by hold code,
    failed steps, back-orders, unscheduled lines), the same figures as the workbench's tabs."""

    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="exceptions_summary",
        responses={
            200: ExceptionSummaryOutputSerializer,
            401: OpenApiResponse(ErrorSerializer, description="No credential, or a bad one."),
            403: OpenApiResponse(ErrorSerializer, description="Not staff."),
        },
    )
    def get(self, request):
        return Response(ExceptionSummaryOutputSerializer(selectors.exception_summary()).data)
