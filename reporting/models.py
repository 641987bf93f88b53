"""Reporting keeps only people's saved views; every figure it shows is read from the owning apps."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedSearch(models.Model):
    """A named set of filters on a list screen (e.g. "my credit holds this week"), per person."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    screen = models.CharField(max_length=40, default="orders")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, help_text="The list's query string, without the page.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "screen", "name"], name="savedsearch_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.screen})"


# The reports' read model lives in its own module; Django finds the models through this import.
from .reports.models import (  # noqa: E402, F401
    ProductCost,
    RollupCursor,
    SalesDayTotal,
    SalesFact,
    SalesFxDay,
    SalesOrderTotal,
    SalesRollup,
    ScheduledReport,
)
