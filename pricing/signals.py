"""Every change to the rule set bumps the version, so every process reloads on its next call.

So does every change to what the loader caches with a rule set (pricing.snapshot): products,
categories, units and conversions, channels.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from catalog.models import Category, Product, UnitOfMeasure, UomConversion
from partners.models import Channel

from .models import RULESET_MODELS, DiscountRule, PricingStrategy
from .snapshot import ruleset_version_bump

# Outside pricing, cached by the snapshot loader with the rule set.
CACHED_WITH_RULESET = (Product, Category, UnitOfMeasure, UomConversion, Channel)


def _bump(sender, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata: the fixture sets the version itself
        return
    ruleset_version_bump()


def _bump_m2m(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        ruleset_version_bump()


def connect() -> None:
    for model in (*RULESET_MODELS, *CACHED_WITH_RULESET):
        uid = f"pricing.bump.{model._meta.label_lower}"
        post_save.connect(_bump, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"{uid}.delete")
    through_models = [PricingStrategy.rules.through] + [
        DiscountRule._meta.get_field(name).remote_field.through
        for name in ("products", "categories", "brands", "customers", "segments", "channels")
    ]
    for through in through_models:
        m2m_changed.connect(
            _bump_m2m, sender=through, dispatch_uid=f"pricing.bump.{through._meta.label_lower}"
        )
