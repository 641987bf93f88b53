"""Business documents: each version of a document is one row with its rendered PDF, its status
and content hash; beside it the status history, the view log and the per-recipient mail log.

The documents app sits low in the layers: it imports no business app. The owner of a document
(an order, a shipment, an invoice, a claim) is named by an opaque reference, `owner_type` +
`owner_id`, and every app hands over the context its template needs."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .states import DocumentStatus, DocumentType, MailStatus, ViewChannel, ViewOutcome

# Days a document's file is kept after it was issued, per type (OMS_DOCUMENT_RETENTION overrides).
# Accounting documents are kept seven years (the longest statutory period among our markets);
# warehouse paperwork only as long as a claim about the shipment can come in.
RETENTION_DAYS: dict[str, int] = {
    DocumentType.QUOTE: 365,
    DocumentType.ORDER_ACKNOWLEDGEMENT: 730,
    DocumentType.PICK_LIST: 90,
    DocumentType.PACKING_SLIP: 365,
    DocumentType.SHIPMENT_NOTICE: 730,
    DocumentType.INVOICE: 2557,
    DocumentType.CREDIT_MEMO: 2557,
    DocumentType.PURCHASE_ORDER: 2557,
    DocumentType.RETURN_AUTHORIZATION: 730,
    DocumentType.REBATE_CLAIM: 2557,
    DocumentType.CUSTOMER_STATEMENT: 2557,
}


def retention_days(doc_type: str) -> int:
    overrides = {}
    for item in filter(None, (p.strip() for p in settings.OMS_DOCUMENT_RETENTION.split(","))):
        name, _, days = item.partition("=")
        overrides[name.strip()] = int(days)
    return overrides.get(doc_type, RETENTION_DAYS[doc_type])


def document_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.OMS_DOCUMENTS_ROOT)


class Document(models.Model):
    """One version of a document. A re-issue adds version n+1 and clears `is_current` on the
    one before; older versions keep their file and stay downloadable until their retention ends."""

    doc_type = models.CharField(max_length=30, choices=DocumentType.choices)
    number = models.CharField(max_length=60)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    status = models.CharField(max_length=15, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT)
    title = models.CharField(max_length=200, blank=True, default="")
    owner_type = models.CharField(max_length=40)
    owner_id = models.CharField(max_length=80)
    # The business record the document is filed under, e.g. "order:SO-000042": the order page
    # lists an order's acknowledgement, shipment notices and invoices by it.
    related_ref = models.CharField(max_length=80, blank=True, default="", db_index=True)
    # The recipient party, for the mail and the customer link: name, email, locale.
    party_name = models.CharField(max_length=200, blank=True, default="")
    party_email = models.EmailField(blank=True, default="")
    locale = models.CharField(max_length=15, default="en")
    # What the owning app handed over (JSON facts: amounts as strings), so a draft whose
    # rendering failed can be rendered again without asking the owner.
    context = models.JSONField(default=dict, blank=True)
    file = models.FileField(storage=document_storage, upload_to="%Y/%m/", blank=True, default="")
    size = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True, default="")  # SHA-256 of the PDF
    render_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    retain_until = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["doc_type", "number", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["doc_type", "number", "version"], name="document_version_once"),
            models.UniqueConstraint(
                fields=["doc_type", "number"], condition=Q(is_current=True), name="document_one_current"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DocumentStatus.values), name="document_status_valid"
            ),
            models.CheckConstraint(condition=Q(doc_type__in=DocumentType.values), name="document_type_valid"),
            # Never a half state: an issued (or later) document that was not purged has its file.
            models.CheckConstraint(
                condition=Q(status=DocumentStatus.DRAFT)
                | ~Q(content_hash="")
                | Q(status=DocumentStatus.VOID),
                name="document_issued_has_hash",
            ),
        ]
        indexes = [models.Index(fields=["owner_type", "owner_id"], name="document_owner_idx")]

    def __str__(self) -> str:
        return f"{self.get_doc_type_display()} {self.number} v{self.version}"

    @property
    def filename(self) -> str:
        return f"{self.number}-v{self.version}.pdf"

    @property
    def has_file(self) -> bool:
        return bool(self.file) and self.purged_at is None

    def retention_end(self) -> timezone.datetime:
        return (self.issued_at or timezone.now()) + timedelta(days=retention_days(self.doc_type))


class DocumentEvent(models.Model):
    """The status history (audit): who moved the document from what to what, when, and why."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)  # "status", "rendered", "render_failed", "purged"
    before = models.CharField(max_length=15, blank=True, default="")
    after = models.CharField(max_length=15, blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="")
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.document_id} {self.kind} {self.before}->{self.after}"


class DocumentView(models.Model):
    """One view or download, or one refused attempt (a tampered or expired link: no document
    when the link could not be read). Kept when the file is purged."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="views", null=True, blank=True
    )
    channel = models.CharField(max_length=15, choices=ViewChannel.choices)
    outcome = models.CharField(max_length=10, choices=ViewOutcome.choices, default=ViewOutcome.SHOWN)
    action = models.CharField(max_length=10, default="view")  # "view", "download", "open"
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    who = models.CharField(max_length=200, blank=True, default="")  # user name, API key, recipient
    link = models.CharField(max_length=32, blank=True, default="")  # the link's fingerprint
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=ViewChannel.values), name="document_view_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=ViewOutcome.values), name="document_view_outcome_valid"
            ),
        ]
        # The document page lists its views newest first, a page at a time.
        indexes = [models.Index(fields=["document", "-id"], name="document_view_doc_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.outcome} {self.document_id}"


class DocumentMail(models.Model):
    """One mail to one recipient (the per-recipient log). `dedupe_key` names the business event
    that asked for it: the same event delivered twice finds its row and mails nobody twice."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="mails")
    dedupe_key = models.CharField(max_length=120)
    recipient = models.EmailField()
    language = models.CharField(max_length=15, default="en")
    variant = models.CharField(max_length=40, blank=True, default="")  # e.g. the channel: its own texts
    # Mails with the same group (the order) and recipient go out as one digest (policy).
    group_key = models.CharField(max_length=80, blank=True, default="")
    marketing = models.BooleanField(default=False)  # carries an unsubscribe link
    subject = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=10, choices=MailStatus.choices, default=MailStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")
    message_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key", "recipient"], name="document_mail_once"),
            models.CheckConstraint(
                condition=Q(status__in=MailStatus.values), name="document_mail_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="queued"), name="document_mail_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.status} ({self.document_id})"


class MailTemplate(models.Model):
    """An email text per document type and language, edited in the admin. A template that does
    not compile is refused at save, with its line (documents.rendering.template_check)."""

    doc_type = models.CharField(max_length=30, choices=DocumentType.choices)
    language = models.CharField(max_length=15, default="en")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["doc_type", "language"], name="mail_template_once"),
        ]

    def __str__(self) -> str:
        return f"{self.doc_type} ({self.language})"

    def clean(self) -> None:
        from .rendering import template_check

        template_check(self.subject, field="subject")
        template_check(self.body, field="body")


class CaughtMail(models.Model):
    """What the mail catcher backend (demo) kept instead of sending: the staff UI shows it."""

    subject = models.CharField(max_length=300)
    from_email = models.CharField(max_length=300)
    to = models.TextField()
    body = models.TextField()
    attachments = models.JSONField(default=list)  # [{"name", "type", "size"}]
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class CommunicationPolicy(models.Model):
    """How one channel (blank: every channel) sends one type of document or message (blank:
    every type): whether at all, not during quiet hours (they are held until the hours end,
    in TIME_ZONE), and as one digest per order and recipient within `digest_minutes` instead of
    a mail each. A marketing-type message carries an unsubscribe link and is never sent to an
    address that unsubscribed; service messages (confirmations, invoices) always go."""

    channel = models.CharField(max_length=40, blank=True, default="")
    doc_type = models.CharField(max_length=30, blank=True, default="", choices=DocumentType.choices)
    enabled = models.BooleanField(default=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    digest_minutes = models.PositiveIntegerField(default=0)
    marketing = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "communication policies"
        constraints = [
            models.UniqueConstraint(fields=["channel", "doc_type"], name="communication_policy_once"),
            models.CheckConstraint(
                condition=(Q(quiet_start__isnull=True) & Q(quiet_end__isnull=True))
                | (Q(quiet_start__isnull=False) & Q(quiet_end__isnull=False)),
                name="communication_policy_quiet_both",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel or 'every channel'} / {self.doc_type or 'every type'}"


class Unsubscribe(models.Model):
    """An address that asked for no more marketing-type messages (through its signed link)."""

    email = models.EmailField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.email
