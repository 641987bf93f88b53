"""List filters of documents and their view log (API and staff UI)."""

from __future__ import annotations

import django_filters

from oms.kernel.filtering import StrictBooleanFilter, StrictFilterSet

from .models import Document, DocumentView
from .states import DocumentStatus, DocumentType, ViewChannel, ViewOutcome


class DocumentFilter(StrictFilterSet):
    doc_type = django_filters.ChoiceFilter(choices=DocumentType.choices)
    status = django_filters.ChoiceFilter(choices=DocumentStatus.choices)
    number = django_filters.CharFilter(field_name="number", lookup_expr="istartswith", max_length=60)
    related = django_filters.CharFilter(
        field_name="related_ref",
        max_length=80,
        help_text='What the document is filed under, e.g. "order:SO-000042".',
    )
    current = StrictBooleanFilter(
        field_name="is_current", help_text="Current versions (true) or superseded ones."
    )

    class Meta:
        model = Document
        fields = ["doc_type", "status", "number", "related", "current"]


class DocumentViewFilter(StrictFilterSet):
    channel = django_filters.ChoiceFilter(choices=ViewChannel.choices)
    outcome = django_filters.ChoiceFilter(choices=ViewOutcome.choices)

    class Meta:
        model = DocumentView
        fields = ["channel", "outcome"]
