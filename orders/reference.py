"""The configuration capture reads on every order, cached per process (`oms.kernel.refcache`):
defaulting and approval rules, the screening lists, channel order policies and hold codes. An admin
change reaches every process at its next request; a steady-state capture reads none of them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from oms.kernel import refcache

from .models import (
    ApprovalRule,
    ChannelOrderPolicy,
    DefaultingRule,
    EmbargoedCountry,
    HoldCode,
    RestrictedParty,
)

DEFAULTING = "orders.defaulting_rules"
APPROVAL = "orders.approval_rules"
SCREENING = "orders.screening_lists"
CHANNEL_POLICIES = "orders.channel_policies"
HOLD_CODES = "orders.hold_codes"


@dataclass(frozen=True)
class DefaultingFacts:
    field: str
    value: str
    channel_id: int | None
    country: str


@dataclass(frozen=True)
class ApprovalFacts:
    name: str
    kind: str
    threshold: Decimal | None
    threshold_currency: str
    channel_id: int | None


@dataclass(frozen=True)
class ScreeningLists:
    # normalized name -> the listed names it stands for
    parties: MappingProxyType[str, tuple[str, ...]]
    # country -> policy
    embargoes: MappingProxyType[str, str]


@dataclass(frozen=True)
class ChannelPolicyFacts:
    shortage_policy: str
    restricted_party_policy: str


def _defaulting_load() -> tuple[DefaultingFacts, ...]:
    # The model's ordering: between equally specific rules the first one wins, as before.
    return tuple(
        DefaultingFacts(**row)
        for row in DefaultingRule.objects.filter(active=True)
        .order_by("field", "pk")
        .values("field", "value", "channel_id", "country")
    )


def _approval_load() -> tuple[ApprovalFacts, ...]:
    return tuple(
        ApprovalFacts(**row)
        for row in ApprovalRule.objects.filter(active=True)
        .order_by("name", "pk")
        .values("name", "kind", "threshold", "threshold_currency", "channel_id")
    )


def _screening_load() -> ScreeningLists:
    parties: dict[str, list[str]] = {}
    for name, normalized in RestrictedParty.objects.filter(active=True).values_list(
        "name", "normalized_name"
    ):
        parties.setdefault(normalized, []).append(name)
    embargoes = dict(EmbargoedCountry.objects.filter(active=True).values_list("country", "policy"))
    return ScreeningLists(
        parties=MappingProxyType({k: tuple(v) for k, v in parties.items()}),
        embargoes=MappingProxyType(embargoes),
    )


def _channel_policies_load() -> MappingProxyType[int, ChannelPolicyFacts]:
    return MappingProxyType(
        {
            channel_id: ChannelPolicyFacts(shortage_policy=shortage, restricted_party_policy=parties)
            for channel_id, shortage, parties in ChannelOrderPolicy.objects.values_list(
                "channel_id", "shortage_policy", "restricted_party_policy"
            )
        }
    )


def _hold_codes_load() -> MappingProxyType[str, tuple[tuple[str, Any], ...]]:
    # Every column in the model's order, as `Model.from_db` takes them.
    names = [f.attname for f in HoldCode._meta.concrete_fields]
    return MappingProxyType({row["code"]: tuple(row.items()) for row in HoldCode.objects.values(*names)})


def defaulting_rules() -> tuple[DefaultingFacts, ...]:
    return refcache.get(DEFAULTING)


def approval_rules() -> tuple[ApprovalFacts, ...]:
    return refcache.get(APPROVAL)


def screening_lists() -> ScreeningLists:
    return refcache.get(SCREENING)


def channel_order_policy(channel) -> ChannelOrderPolicy:
    """The channel's policy (an unsaved instance with the defaults when it has none)."""
    facts = refcache.get(CHANNEL_POLICIES).get(channel.pk)
    if facts is None:
        return ChannelOrderPolicy(channel=channel)
    return ChannelOrderPolicy(
        channel=channel,
        shortage_policy=facts.shortage_policy,
        restricted_party_policy=facts.restricted_party_policy,
    )


def hold_code_cached(code: str) -> HoldCode | None:
    """A hold code as stored (a fresh instance per call: callers may change it freely)."""
    row = refcache.get(HOLD_CODES).get(code)
    if row is None:
        return None
    values = {name: (list(value) if isinstance(value, list) else value) for name, value in row}
    return HoldCode.from_db("default", list(values), list(values.values()))


def register() -> None:
    refcache.register(DEFAULTING, models=[DefaultingRule], loader=_defaulting_load)
    refcache.register(APPROVAL, models=[ApprovalRule], loader=_approval_load)
    refcache.register(SCREENING, models=[RestrictedParty, EmbargoedCountry], loader=_screening_load)
    refcache.register(CHANNEL_POLICIES, models=[ChannelOrderPolicy], loader=_channel_policies_load)
    refcache.register(HOLD_CODES, models=[HoldCode], loader=_hold_codes_load)
