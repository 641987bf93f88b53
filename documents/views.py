"""Staff screens for documents (list, a document's page with its versions, status history, mails
and view log; the PDF itself; void, re-issue, acknowledge), the mail catcher, and the public
customer link. Every opening of a file writes one view-log row; so does a refused link."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oms.kernel.exceptions import DomainError
from oms.kernel.roles import Role
from oms.kernel.security import client_ip
from oms.kernel.web import WORKBENCH_ROLES, error_text, has_any_role, page, paginate, role_required

from . import links, selectors
from .filters import DocumentFilter
from .models import Document, DocumentMail, Unsubscribe
from .services import document_reissue, document_transition, view_record
from .states import DOCUMENT_TRANSITIONS, DocumentStatus, ViewChannel

DOCUMENT_WRITERS = (Role.ORDER_DESK, Role.FINANCE)
VIEW_LOG_PAGE = 25
# A 1x1 transparent GIF: the mail's open pixel.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


def _meta(request: HttpRequest) -> dict:
    return {"ip": client_ip(request) or None, "user_agent": request.META.get("HTTP_USER_AGENT", "")}


def file_response(document: Document, *, download: bool) -> FileResponse:
    if not document.has_file:
        raise Http404("This document has no file (it failed to render, or its retention ended).")
    response = FileResponse(
        document.file.open("rb"),
        content_type="application/pdf",
        as_attachment=download,
        filename=document.filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@role_required(*WORKBENCH_ROLES)
def document_list_view(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    params.pop("page", None)
    filters = DocumentFilter(params or None, queryset=selectors.document_list(), request=request)
    valid = not filters.is_bound or filters.is_valid()
    rows = filters.qs if valid else selectors.document_list().none()
    return page(
        request,
        "documents/list.html",
        {"page_obj": paginate(request, rows), "filters": filters, "querystring": params.urlencode()},
        status=200 if valid else 400,
    )


document_list_view.filterset_class = DocumentFilter


@require_GET
@role_required(*WORKBENCH_ROLES)
def document_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(Document, pk=pk)
    views = selectors.ViewLogPaginator(selectors.document_view_log(document.pk), VIEW_LOG_PAGE).get_page(
        request.GET.get("page") or 1
    )
    allowed = DOCUMENT_TRANSITIONS[document.status]
    return page(
        request,
        "documents/detail.html",
        {
            "document": document,
            "versions": selectors.document_versions(document),
            "history": selectors.document_history(document),
            "mails": selectors.document_mails(document),
            "views": views,
            "can_write": has_any_role(request, DOCUMENT_WRITERS),
            "can_void": DocumentStatus.VOID in allowed,
            "can_acknowledge": DocumentStatus.ACKNOWLEDGED in allowed,
        },
    )


@require_GET
@role_required(*WORKBENCH_ROLES)
def document_file_view(request: HttpRequest, pk: int) -> FileResponse:
    document = get_object_or_404(Document, pk=pk)
    download = request.GET.get("download") == "1"
    response = file_response(document, download=download)
    view_record(
        document_id=document.pk,
        channel=ViewChannel.STAFF,
        action="download" if download else "view",
        user=request.user,
        who=request.user.get_username(),
        **_meta(request),
    )
    return response


@require_POST
@role_required(*DOCUMENT_WRITERS)
def document_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    document = get_object_or_404(Document, pk=pk)
    actor = request.user.get_username()
    note = request.POST.get("note", "").strip()[:500]
    try:
        if action == "void":
            document_transition(document_id=document.pk, to=DocumentStatus.VOID, actor=actor, note=note)
            messages.success(request, f"{document} is void.")
        elif action == "acknowledge":
            document_transition(
                document_id=document.pk, to=DocumentStatus.ACKNOWLEDGED, actor=actor, note=note
            )
            messages.success(request, f"{document} is acknowledged.")
        elif action == "reissue":
            document = document_reissue(document_id=document.pk, actor=actor)
            messages.success(request, f"Issued version {document.version}.")
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("documents:detail", pk=document.pk)


# --- the customer link (no sign-in: the signed token is the permission) -----------------------


def _refuse(request: HttpRequest, token: str, channel: str, reason: str) -> HttpResponse:
    view_record(
        document_id=None, channel=channel, link=links.fingerprint(token), refused=reason, **_meta(request)
    )
    return render(request, "documents/link_refused.html", {"reason": reason}, status=403)


@never_cache
@require_GET
def public_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        claim = links.link_read(token, purpose="view")
    except links.LinkRefused as refused:
        return _refuse(request, token, ViewChannel.LINK, refused.reason)
    document = Document.objects.filter(pk=claim.document_id).first()
    if document is None or document.status == DocumentStatus.VOID or not document.has_file:
        return _refuse(request, token, ViewChannel.LINK, "document withdrawn")
    response = file_response(document, download=request.GET.get("download") == "1")
    view_record(
        document_id=document.pk,
        channel=ViewChannel.LINK,
        action="download" if request.GET.get("download") == "1" else "view",
        who=claim.recipient,
        link=links.fingerprint(token),
        **_meta(request),
    )
    return response


@never_cache
@require_GET
def public_open(request: HttpRequest, token: str) -> HttpResponse:
    try:
        claim = links.link_read(token, purpose="open")
    except links.LinkRefused as refused:
        return _refuse(request, token, ViewChannel.EMAIL_OPEN, refused.reason)
    if Document.objects.filter(pk=claim.document_id).exists():
        view_record(
            document_id=claim.document_id,
            channel=ViewChannel.EMAIL_OPEN,
            action="open",
            who=claim.recipient,
            link=links.fingerprint(token),
            **_meta(request),
        )
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_http_methods(["GET", "POST"])
def public_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """A marketing mail's unsubscribe link: a page with a button (a POST, so a mail scanner that
    follows links does not unsubscribe anybody); service mails (invoices, notices) still go."""
    try:
        email = links.unsubscribe_read(token)
    except links.LinkRefused:
        return render(request, "documents/link_refused.html", {"reason": "bad signature"}, status=403)
    done = request.method == "POST"
    if done:
        Unsubscribe.objects.get_or_create(email=email.lower())
    return render(request, "documents/unsubscribe.html", {"email": email, "done": done})


# --- the mail catcher (demo: EMAIL_BACKEND=documents.mail.CatcherEmailBackend) ------------------


@require_GET
@role_required(*WORKBENCH_ROLES)
def mail_catcher_view(request: HttpRequest) -> HttpResponse:
    return page(
        request,
        "documents/mail_catcher.html",
        {
            "page_obj": paginate(request, selectors.caught_mails(), per_page=20),
            "backend": settings.EMAIL_BACKEND,
        },
    )


@require_POST
@role_required(*DOCUMENT_WRITERS)
def mail_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    from .mail import mail_retry

    mail = get_object_or_404(DocumentMail, pk=pk)
    try:
        mail_retry(mail_id=mail.pk)
        messages.success(request, f"The mail to {mail.recipient} is queued again.")
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("documents:detail", pk=mail.document_id)
