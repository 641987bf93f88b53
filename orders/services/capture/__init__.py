"""The submission pipeline: one service for the API, the staff UI and the file import.

`order_submit` runs named stages (`pipeline.STAGES`, one module each under `stages/`) over one
`Capture` in one transaction: check the revision -> validate the lines -> resolve the customer ->
apply defaults -> price -> screen -> credit and approvals -> supersede the current revision ->
persist -> reserve -> record the audit trail -> publish. A failure anywhere leaves nothing
behind. The number of queries does not grow with the number of lines (products, conversions,
lines, events and holds are read or written in one statement each; inventory reserves all lines
in one statement; pricing loads a fixed snapshot).
"""

from .context import DEMAND_TYPE, MAX_LINES, Capture, ComplianceRejected, Plan, SubmitResult, as_stored
from .pipeline import SOURCE_ORDER_CONSTRAINTS, STAGES, order_submit
from .stages.screening import screen_order

__all__ = [
    "DEMAND_TYPE",
    "MAX_LINES",
    "SOURCE_ORDER_CONSTRAINTS",
    "STAGES",
    "Capture",
    "ComplianceRejected",
    "Plan",
    "SubmitResult",
    "as_stored",
    "order_submit",
    "screen_order",
]
