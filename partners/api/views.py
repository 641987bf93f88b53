from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer

from ..filters import ChannelFilter
from ..selectors import channels_visible_to
from .serializers import ChannelOutputSerializer


class ChannelListApi(ListAPIView):
    """Channels the caller may see: its own (channel key) or all (staff)."""

    serializer_class = ChannelOutputSerializer
    filterset_class = ChannelFilter

    def get_queryset(self):
        return channels_visible_to(self.request.user).order_by("code")


class ChannelDetailApi(APIView):
    @extend_schema(responses={200: ChannelOutputSerializer, 404: ErrorSerializer})
    def get(self, request, code: str):
        channel = get_object_or_404(channels_visible_to(request.user), code=code)
        return Response(ChannelOutputSerializer(channel).data)
