"""Staff screens of relationship management: leads and their pipeline, interactions and
follow-ups. Thin: each write calls one service and reports its domain error in the page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oms.kernel.exceptions import DomainError
from oms.kernel.web import (
    CRM_ROLES,
    CUSTOMER_READERS,
    LEAD_MANAGERS,
    error_text,
    has_any_role,
    page,
    paginate,
    role_required,
)

from . import selectors, services
from .filters import LeadFilter
from .forms import CustomerEmailForm, InteractionForm, LeadConvertForm, LeadForm
from .models import Customer, Lead
from .states import LEAD_TRANSITIONS, LeadStage


def _leads_of(request: HttpRequest):
    return selectors.lead_list(viewer_id=request.user.pk, sees_all=has_any_role(request, LEAD_MANAGERS))


def _filtered_leads(request: HttpRequest) -> tuple[LeadFilter, object]:
    filters = LeadFilter(request.GET or None, queryset=_leads_of(request), request=request)
    qs = filters.qs if not filters.is_bound or filters.is_valid() else filters.queryset.none()
    return filters, qs


@require_GET
@role_required(*CRM_ROLES)
def lead_list(request: HttpRequest) -> HttpResponse:
    filters, qs = _filtered_leads(request)
    return page(
        request,
        "customers/lead_list.html",
        {"rows": paginate(request, qs, per_page=25), "filters": filters, "stages": LeadStage.choices},
        status=400 if filters.is_bound and filters.form.errors else 200,
    )


lead_list.filterset_class = LeadFilter


@require_GET
@role_required(*CRM_ROLES)
def lead_pipeline(request: HttpRequest) -> HttpResponse:
    filters, qs = _filtered_leads(request)
    return page(
        request,
        "customers/lead_pipeline.html",
        {"columns": selectors.lead_pipeline(qs), "filters": filters},
        status=400 if filters.is_bound and filters.form.errors else 200,
    )


lead_pipeline.filterset_class = LeadFilter


@require_http_methods(["GET", "POST"])
@role_required(*CRM_ROLES)
def lead_new(request: HttpRequest) -> HttpResponse:
    form = LeadForm(request.POST or None, initial={"owner": request.user.pk})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                lead = services.lead_create(user=request.user, **form.cleaned_data)
            except DomainError as exc:
                for field, errors in exc.fields.items():
                    form.add_error(field if field in form.fields else None, errors)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, f"Lead {lead.display_name} saved.")
                return redirect("customers:lead-detail", pk=lead.pk)
        status = 400
    return page(request, "customers/lead_new.html", {"form": form}, status=status)


def _lead_page(request: HttpRequest, lead: Lead, *, status: int = 200, **extra) -> HttpResponse:
    interactions = paginate(request, selectors.interactions_of(lead_id=lead.pk), per_page=20)
    allowed = LEAD_TRANSITIONS.get(lead.stage, frozenset())
    context = {
        "lead": lead,
        "events": lead.events.select_related("actor"),
        "interactions": interactions,
        "moves": [
            (s, LeadStage(s).label) for s in LeadStage.values if s in allowed and s not in ("won", "lost")
        ],
        "can_lose": LeadStage.LOST in allowed,
        "can_convert": LeadStage.WON in allowed,
        "can_reopen": lead.stage == LeadStage.LOST,
        "interaction_form": extra.pop("interaction_form", None) or InteractionForm(),
        "convert_form": extra.pop("convert_form", None) or LeadConvertForm(),
        **extra,
    }
    return page(request, "customers/lead_detail.html", context, status=status)


@require_GET
@role_required(*CRM_ROLES)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_page(request, get_object_or_404(_leads_of(request), pk=pk))


@require_POST
@role_required(*CRM_ROLES)
def lead_stage(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(_leads_of(request), pk=pk)
    try:
        lead = services.lead_stage_change(
            lead_id=lead.pk,
            to=request.POST.get("to", ""),
            user=request.user,
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"{lead.display_name} moved to {lead.get_stage_display()}.")
    return redirect(
        reverse("customers:pipeline") if request.POST.get("next") == "board" else lead_url(lead.pk)
    )


def lead_url(pk: int) -> str:
    return reverse("customers:lead-detail", kwargs={"pk": pk})


@require_POST
@role_required(*CRM_ROLES)
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(_leads_of(request), pk=pk)
    form = LeadConvertForm(request.POST)
    if not form.is_valid():
        return _lead_page(request, lead, status=400, convert_form=form)
    try:
        lead = services.lead_convert(
            lead_id=lead.pk,
            user=request.user,
            customer_id=form.cleaned_data["customer"],
            account_number=form.cleaned_data["account_number"],
            create_anyway=form.cleaned_data["create_anyway"],
        )
    except services.PossibleDuplicate as exc:
        return _lead_page(request, lead, status=409, convert_form=form, candidates=exc.context["candidates"])
    except DomainError as exc:
        form.add_error(None, error_text(exc))
        return _lead_page(request, lead, status=exc.status_code, convert_form=form)
    messages.success(request, f"{lead.display_name} is won: account {lead.customer.account_number}.")
    return redirect("ui:customer-detail", pk=lead.customer_id)


def _interaction_from(request: HttpRequest, **party) -> tuple[InteractionForm, DomainError | None]:
    form = InteractionForm(request.POST)
    if not form.is_valid():
        return form, None
    try:
        services.interaction_log(user=request.user, **party, **form.cleaned_data)
    except DomainError as exc:
        return form, exc
    return form, None


@require_POST
@role_required(*CRM_ROLES)
def lead_interaction(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(_leads_of(request), pk=pk)
    form, error = _interaction_from(request, lead_id=lead.pk)
    if error or form.errors:
        if error:
            form.add_error(None, error_text(error))
        return _lead_page(request, lead, status=400, interaction_form=form)
    messages.success(request, "Interaction logged.")
    return redirect(lead_url(lead.pk))


@require_POST
@role_required(*CUSTOMER_READERS)
def customer_interaction(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form, error = _interaction_from(request, customer_id=customer.pk)
    if error or form.errors:
        messages.error(request, error_text(error) if error else _form_error_text(form))
    else:
        messages.success(request, "Interaction logged.")
    return redirect(reverse("ui:customer-detail", kwargs={"pk": customer.pk}) + "#interactions")


@require_POST
@role_required(*CUSTOMER_READERS)
def customer_email(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
    else:
        try:
            services.customer_email_send(customer_id=customer.pk, user=request.user, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, f"E-mail sent to {form.cleaned_data['to']} and logged.")
    return redirect(reverse("ui:customer-detail", kwargs={"pk": customer.pk}) + "#interactions")


def _form_error_text(form) -> str:
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


@require_GET
@role_required(*CRM_ROLES)
def follow_ups(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    rows = paginate(request, selectors.follow_ups_due(owner_id=request.user.pk, today=today), per_page=25)
    return page(request, "customers/follow_ups.html", {"rows": rows, "today": today})


@require_POST
@role_required(*CRM_ROLES)
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.follow_up_complete(interaction_id=pk, user=request.user, owner_id=request.user.pk)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "Follow-up done.")
    return redirect("customers:follow-ups")
