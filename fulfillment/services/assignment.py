"""Process assignment rules: which process definition a new fulfillment line runs."""

from __future__ import annotations

from oms.kernel.exceptions import ValidationFailed
from orders.models import OrderLine, SalesOrder

from ..models import AssignmentRule, ProcessDefinition
from ..states import DefinitionStatus


def _matches(rule: AssignmentRule, *, order: SalesOrder, line: OrderLine, mode: str) -> bool:
    checks = [
        (rule.channel_id, order.channel_id),
        (rule.customer_id, order.customer_id),
        (rule.category_id, line.product.category_id),
        (rule.product_type, line.product.product_type),
        (rule.ship_method, line.ship_method or order.ship_method),
        (rule.fulfillment_mode, mode),
    ]
    return all(wanted in (None, "") or wanted == actual for wanted, actual in checks)


def latest_published(code: str) -> ProcessDefinition | None:
    return (
        ProcessDefinition.objects.filter(code=code, status=DefinitionStatus.PUBLISHED)
        .order_by("-version")
        .first()
    )


def process_for(
    *, order: SalesOrder, line: OrderLine, mode: str, rules: list[AssignmentRule] | None = None
) -> ProcessDefinition:
    """The first active rule by priority whose filled-in conditions all match; its process's
    latest published version."""
    for rule in (
        rules if rules is not None else AssignmentRule.objects.filter(active=True).order_by("priority", "pk")
    ):
        if _matches(rule, order=order, line=line, mode=mode):
            definition = latest_published(rule.process_code)
            if definition is None:
                raise ValidationFailed(
                    f"Rule '{rule.name}' names process '{rule.process_code}', which has no published version."
                )
            return definition
    raise ValidationFailed(f"No assignment rule matches line {line.line_number} of {order.number}.")
