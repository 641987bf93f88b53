from __future__ import annotations

from rest_framework import serializers

from ..models import Document, DocumentEvent, DocumentView


class DocumentOutputSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "doc_type",
            "number",
            "version",
            "is_current",
            "status",
            "title",
            "owner_type",
            "owner_id",
            "related_ref",
            "party_name",
            "locale",
            "content_hash",
            "size",
            "render_error",
            "created_at",
            "issued_at",
            "retain_until",
            "purged_at",
            "file_url",
        ]
        read_only_fields = fields

    def get_file_url(self, obj: Document) -> str | None:
        from django.urls import reverse

        return reverse("v1:document-file", kwargs={"pk": obj.pk}) if obj.has_file else None


class DocumentEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = DocumentEvent
        fields = ["kind", "before", "after", "actor", "note", "created_at"]
        read_only_fields = fields


class DocumentDetailOutputSerializer(DocumentOutputSerializer):
    history = DocumentEventOutputSerializer(source="events", many=True, read_only=True)

    class Meta(DocumentOutputSerializer.Meta):
        fields = [*DocumentOutputSerializer.Meta.fields, "history"]
        read_only_fields = fields


class DocumentViewOutputSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", default="", read_only=True)

    class Meta:
        model = DocumentView
        fields = [
            "id",
            "channel",
            "outcome",
            "action",
            "username",
            "who",
            "link",
            "ip",
            "user_agent",
            "reason",
            "created_at",
        ]
        read_only_fields = fields
