from __future__ import annotations

from django import forms

from .states import PaymentMethod


class StatementImportForm(forms.Form):
    file = forms.FileField(label="Statement file")
    format = forms.ChoiceField(label="Format", choices=[("csv", "CSV"), ("camt053", "CAMT.053 XML")])
    currency = forms.CharField(label="Account currency", max_length=3, initial="USD")


class LinePostForm(forms.Form):
    invoice = forms.CharField(label="Invoice number", max_length=30, required=False)


class LineDismissForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)


class OfflinePaymentForm(forms.Form):
    method = forms.ChoiceField(
        label="Method",
        choices=[
            (m.value, m.label)
            for m in (PaymentMethod.BANK_TRANSFER, PaymentMethod.CHECK, PaymentMethod.CASH_ON_DELIVERY)
        ],
    )
    amount = forms.CharField(label="Amount", max_length=30)
    reference = forms.CharField(label="Reference", max_length=80, required=False)
    check_number = forms.CharField(label="Check number", max_length=40, required=False)
    deposit_date = forms.DateField(
        label="Deposit date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class RefundForm(forms.Form):
    payment = forms.CharField(label="Payment", max_length=30, widget=forms.HiddenInput)
    amount = forms.CharField(label="Amount", max_length=30)
    reason = forms.CharField(label="Reason", max_length=300)
