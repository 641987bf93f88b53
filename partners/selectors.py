from __future__ import annotations

from django.db.models import QuerySet

from .authentication import ChannelPrincipal
from .models import Channel


def channels_visible_to(viewer) -> QuerySet[Channel]:
    """A channel key sees its own channel; staff see all; anyone else sees none (no BOLA)."""
    qs = Channel.objects.all()
    if isinstance(viewer, ChannelPrincipal):
        return qs.filter(pk=viewer.channel.pk)
    if getattr(viewer, "is_staff", False):
        return qs
    return qs.none()
