"""Staff forms of relationship management: they parse input; the services decide what is valid."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from .models import InteractionKind, Lead, LeadSource


class LeadForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = [
            "company", "contact_name", "email", "phone", "interest", "estimated_value", "currency",
            "address_line1", "city", "postcode", "country", "source", "owner",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [c for c in LeadSource.choices if c[0] != LeadSource.WEB_FORM]
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True, is_staff=True)


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(choices=InteractionKind.choices)
    subject = forms.CharField(max_length=200)
    outcome = forms.CharField(max_length=300, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    follow_up_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class CustomerEmailForm(forms.Form):
    to = forms.EmailField()
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))


class LeadConvertForm(forms.Form):
    account_number = forms.CharField(max_length=30, required=False, help_text="Blank: one is given.")
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    create_anyway = forms.BooleanField(required=False)
