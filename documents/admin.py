"""Console screens: the mail texts per document type and language (checked at save: a template
that does not compile is refused with its line), and read-only lists of documents and mails for
data repair and support."""

from django.contrib import admin

from .models import CommunicationPolicy, Document, DocumentMail, MailTemplate, Unsubscribe


@admin.register(MailTemplate)
class MailTemplateAdmin(admin.ModelAdmin):
    list_display = ["doc_type", "language", "subject", "updated_at"]
    list_filter = ["doc_type", "language"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["number", "doc_type", "version", "is_current", "status", "party_name", "created_at"]
    list_filter = ["doc_type", "status", "is_current"]
    search_fields = ["number", "related_ref", "party_name", "party_email"]
    readonly_fields = [f.name for f in Document._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DocumentMail)
class DocumentMailAdmin(admin.ModelAdmin):
    list_display = ["recipient", "document", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["recipient", "dedupe_key", "document__number"]
    readonly_fields = [f.name for f in DocumentMail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CommunicationPolicy)
class CommunicationPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "channel",
        "doc_type",
        "enabled",
        "quiet_start",
        "quiet_end",
        "digest_minutes",
        "marketing",
    ]
    list_filter = ["enabled", "marketing", "doc_type"]


@admin.register(Unsubscribe)
class UnsubscribeAdmin(admin.ModelAdmin):
    list_display = ["email", "created_at"]
    search_fields = ["email"]
