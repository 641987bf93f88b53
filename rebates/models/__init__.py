"""The rebates data model, one module per part (claims add `claims.py` beside these)."""

from .accruals import Accrual, AccrualKind, SourceType
from .claims import CLAIM_NUMBER_PREFIX, Claim, ClaimLine, ClaimSettlement
from .journal import AccountCode, AccountRole, EntryKind, JournalEntry, JournalLine
from .programs import (
    SUPPLIER_SIDE,
    AccrualBasis,
    CalcMethod,
    DebitMethod,
    PayoutMethod,
    Period,
    PriceDrop,
    ProgramTier,
    ProgramType,
    RebateEvent,
    RebateProgram,
    ShipDebitAuthorization,
    TierMeasure,
    TierMode,
)

__all__ = [
    "CLAIM_NUMBER_PREFIX",
    "SUPPLIER_SIDE",
    "AccountCode",
    "AccountRole",
    "Accrual",
    "AccrualBasis",
    "AccrualKind",
    "CalcMethod",
    "Claim",
    "ClaimLine",
    "ClaimSettlement",
    "DebitMethod",
    "EntryKind",
    "JournalEntry",
    "JournalLine",
    "PayoutMethod",
    "Period",
    "PriceDrop",
    "ProgramTier",
    "ProgramType",
    "RebateEvent",
    "RebateProgram",
    "ShipDebitAuthorization",
    "SourceType",
    "TierMeasure",
    "TierMode",
]
