"""The channel list's filters (django-filter)."""

from __future__ import annotations

import django_filters

from oms.kernel.filtering import StrictBooleanFilter, StrictFilterSet

from .models import Channel, ChannelType


class ChannelFilter(StrictFilterSet):
    type = django_filters.ChoiceFilter(choices=ChannelType.choices, empty_label="Any type")
    active = StrictBooleanFilter(field_name="active", help_text="`true` or `false`.")

    class Meta:
        model = Channel
        fields: list[str] = []
