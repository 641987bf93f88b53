"""Widgets shared by every CSV/XLSX import (django-import-export): bad cells become row errors.

A row with an unknown reference or a non-number is reported as that row's validation error, so
one bad line never hides the good ones and the admin shows a per-row report, not a traceback.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ObjectDoesNotExist
from import_export import widgets


class ReferenceWidget(widgets.ForeignKeyWidget):
    """A foreign key by natural key; an unknown value is a field error (ValueError), not a crash."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except ObjectDoesNotExist as exc:
            label = self.model._meta.verbose_name
            raise ValueError(f"No {label} with {self.field} '{value}'.") from exc


class StrictDecimalWidget(widgets.DecimalWidget):
    def clean(self, value, row=None, **kwargs) -> Decimal | None:
        try:
            return super().clean(value, row=row, **kwargs)
        except (InvalidOperation, ValueError) as exc:
            raise ValueError(f"'{value}' is not a number.") from exc
