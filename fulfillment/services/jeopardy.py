"""Jeopardy: policy validation, the scheduled scan (set-based SQL) and the staff actions on
alerts (acknowledge, assign, resolve with a note). Every action is a FulfillmentEvent."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from oms.kernel.exceptions import NotFound, ValidationFailed
from orders.actors import Actor

from ..audit import fevent
from ..models import JeopardyAlert
from ..states import (
    ALERT_TRANSITIONS,
    DELAY_UNIT_HOURS,
    PRIORITY_RANK,
    AlertResolution,
    JeopardyAlertStatus,
    JeopardyPriority,
    TaskType,
    ensure_transition,
)

# --- policy validation ----------------------------------------------------------------------


@dataclass(frozen=True)
class RangeInput:
    priority: str
    min_score: int
    max_score: int | None


@dataclass(frozen=True)
class ThresholdInput:
    min_delay: Decimal
    unit: str
    score: int


def _delay(t: ThresholdInput) -> str:
    n = format(Decimal(t.min_delay).normalize(), "f")
    unit = t.unit.rstrip("s") if Decimal(t.min_delay) == 1 else t.unit
    return f"{n} {unit}"


def thresholds_errors(thresholds: Iterable[ThresholdInput]) -> list[str]:
    """Thresholds may not repeat a delay (they would overlap) nor lower the score as the delay
    grows."""
    errors: list[str] = []
    seen: dict[Decimal, ThresholdInput] = {}
    for t in thresholds:
        if t.unit not in DELAY_UNIT_HOURS:
            errors.append(f"Unknown unit '{t.unit}'.")
            continue
        if t.score is None or t.score < 0:
            errors.append("A score is 0 or more.")
            continue
        hours = Decimal(t.min_delay) * DELAY_UNIT_HOURS[t.unit]
        if hours in seen:
            errors.append(
                f"Two thresholds start at the same delay ({_delay(seen[hours])} and {_delay(t)}): "
                "they overlap."
            )
        seen[hours] = t
    ordered = sorted(seen.items())
    for (h1, a), (h2, b) in itertools.pairwise(ordered):
        if b.score < a.score:
            errors.append(
                f"The score falls from {a.score} to {b.score} as the delay grows from {h1:g} h to {h2:g} h."
            )
    return errors


def ranges_errors(ranges: Iterable[RangeInput]) -> list[str]:
    """Priority ranges start at 0 and follow each other with no gap and no overlap, one per
    priority, a higher score never meaning a lower priority."""
    msgs: list[str] = []
    rs = sorted(ranges, key=lambda r: (r.min_score, r.max_score if r.max_score is not None else 10**9))
    priorities = [r.priority for r in rs]
    for p in priorities:
        if p not in JeopardyPriority.values:
            msgs.append(f"Unknown priority '{p}'.")
    if len(set(priorities)) != len(priorities):
        msgs.append("Each priority may have only one range.")
    if not rs:
        return ["Give the priority ranges (the first, usually 'on time', starts at score 0)."]
    if rs[0].min_score != 0:
        msgs.append(f"The ranges must start at score 0 (the lowest starts at {rs[0].min_score}).")
    for r in rs:
        if r.max_score is not None and r.max_score < r.min_score:
            msgs.append(f"The range of {r.priority} ends ({r.max_score}) below its start ({r.min_score}).")
    for a, b in itertools.pairwise(rs):
        top = "no upper bound" if a.max_score is None else a.max_score
        if a.max_score is None or b.min_score <= a.max_score:
            msgs.append(
                f"The ranges of {a.priority} ({a.min_score}..{top}) and {b.priority} "
                f"(from {b.min_score}) overlap."
            )
        elif b.min_score > a.max_score + 1:
            msgs.append(
                f"Scores {a.max_score + 1}..{b.min_score - 1} have no priority: a gap between "
                f"{a.priority} and {b.priority}."
            )
    ranks = [PRIORITY_RANK.get(r.priority, -1) for r in rs]
    if ranks != sorted(ranks):
        msgs.append("A higher score must never mean a lower priority (on time < low < medium < high).")
    return msgs


def policy_validate(*, thresholds: Iterable[ThresholdInput], ranges: Iterable[RangeInput]) -> None:
    """Raise ValidationFailed (400) with a message a person can act on when thresholds overlap or
    ranges overlap or leave a gap (see thresholds_errors, ranges_errors)."""
    errors = {}
    if t := thresholds_errors(thresholds):
        errors["thresholds"] = t
    if r := ranges_errors(ranges):
        errors["priority_ranges"] = r
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)


# --- alert actions --------------------------------------------------------------------------


def _viewer(actor: Actor) -> Any:
    return SimpleNamespace(channel=actor.channel) if actor.channel is not None else actor.user


def _lock_alert(alert_id: int, actor: Actor) -> JeopardyAlert:
    from ..selectors import alerts_visible_to

    visible = alerts_visible_to(_viewer(actor)).filter(pk=alert_id)
    alert = (
        JeopardyAlert.objects.select_for_update(of=("self",))
        .select_related("fulfillment_line", "process")
        .filter(pk__in=visible.values("pk"))
        .first()
    )
    if alert is None:
        raise NotFound("No such alert.")
    return alert


def _audit(alert: JeopardyAlert, kind: str, actor: Actor, before: dict, after: dict, data=None) -> None:
    fevent(
        kind,
        line=alert.fulfillment_line,
        process=alert.process,
        actor=actor.label,
        before=before,
        after=after,
        data={"alert": alert.pk, **(data or {})},
    )


@transaction.atomic
def alert_acknowledge(*, alert_id: int, actor: Actor) -> JeopardyAlert:
    """Someone has seen the alert (open -> acknowledged)."""
    alert = _lock_alert(alert_id, actor)
    ensure_transition(ALERT_TRANSITIONS, alert.status, JeopardyAlertStatus.ACKNOWLEDGED)
    before = alert.status
    alert.status = JeopardyAlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor.user
    alert.save()
    _audit(alert, "alert_acknowledged", actor, {"status": before}, {"status": alert.status})
    return alert


@transaction.atomic
def alert_assign(*, alert_id: int, actor: Actor, assignee_id: int | None) -> JeopardyAlert:
    """Give an unresolved alert to an active staff member (None: take it back)."""
    alert = _lock_alert(alert_id, actor)
    if alert.status == JeopardyAlertStatus.RESOLVED:
        ensure_transition(ALERT_TRANSITIONS, alert.status, alert.status)  # raises: resolved is final
    assignee = None
    if assignee_id is not None:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True, is_staff=True).first()
        if assignee is None:
            raise ValidationFailed(
                "Assign the alert to an active staff member.", fields={"assignee": ["No such staff member."]}
            )
    before = {"assigned_to": alert.assigned_to_id}
    alert.assigned_to = assignee
    alert.assigned_at = timezone.now() if assignee else None
    alert.save()
    _audit(
        alert,
        "alert_assigned",
        actor,
        before,
        {"assigned_to": assignee.pk if assignee else None},
        {"assignee": assignee.get_username() if assignee else ""},
    )
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: int, actor: Actor, note: str) -> JeopardyAlert:
    """Close the alert with a note saying what was done (open/acknowledged -> resolved)."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(
            "Say what was done: a note is required.", fields={"note": ["This field is required."]}
        )
    alert = _lock_alert(alert_id, actor)
    ensure_transition(ALERT_TRANSITIONS, alert.status, JeopardyAlertStatus.RESOLVED)
    before = alert.status
    alert.status = JeopardyAlertStatus.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_by = actor.user
    alert.resolution = AlertResolution.STAFF
    alert.note = note
    alert.save()
    _audit(alert, "alert_resolved", actor, {"status": before}, {"status": alert.status}, {"note": note})
    return alert


@dataclass(frozen=True)
class AlertActionResult:
    alert_id: int
    ok: bool
    message: str = ""


def alerts_assign_bulk(
    *, alert_ids: Iterable[int], actor: Actor, assignee_id: int | None
) -> list[AlertActionResult]:
    """Assign several alerts, each in its own transaction, with a result per alert (the staff
    workbench's bulk action)."""
    from oms.kernel.exceptions import DomainError

    results = []
    for alert_id in alert_ids:
        try:
            alert_assign(alert_id=alert_id, actor=actor, assignee_id=assignee_id)
            results.append(AlertActionResult(alert_id, True))
        except DomainError as exc:
            results.append(AlertActionResult(alert_id, False, exc.message))
    return results


# --- the scan -------------------------------------------------------------------------------
#
# One transaction, a constant number of statements whatever the number of processes:
#   1. a temp table of the candidates' new figures (expected end pushed by the current step's
#      overrun, delay, policy -> score -> priority, a readable reason), only rows that changed;
#   2. the order's worst before; 3. the processes and their current steps updated from it;
#   4. alerts superseded / resolved / raised (ON CONFLICT DO NOTHING on the one-unresolved-per-
#      process constraint) and their audit rows; 5. `order.jeopardy_changed` outbox rows for the
#      orders whose worst changed; 6. one digest event per role.
# A PostgreSQL advisory lock queues a second scan behind the first (two beat instances): it then
# finds nothing changed. A scan that dies rolls back entirely.

OPEN_PROCESS_SQL = "('running', 'change_pending', 'needs_attention')"
DIGEST_LIST_LIMIT = 50


@dataclass(frozen=True)
class ScanResult:
    scan_id: int
    kind: str
    processes_changed: int
    steps_changed: int
    alerts_raised: int
    alerts_resolved: int
    orders_changed: int
    digests: int


def _rank_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{p}' THEN {r}" for p, r in PRIORITY_RANK.items() if r)
    return f"(CASE {column} {whens} ELSE 0 END)"


def _priority_of_rank_sql(expr: str) -> str:
    whens = " ".join(f"WHEN {r} THEN '{p}'" for p, r in PRIORITY_RANK.items())
    return f"(CASE {expr} {whens} END)"


def _role_sql(column: str) -> str:
    from ..states import STEP_ROLE, STEP_ROLE_DEFAULT

    whens = " ".join(f"WHEN '{t}' THEN '{r}'" for t, r in STEP_ROLE.items())
    return f"(CASE {column} {whens} ELSE '{STEP_ROLE_DEFAULT}' END)"


def _tz_name() -> str:
    import re

    from django.conf import settings

    name = str(settings.TIME_ZONE or "UTC")
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):  # it is inlined in SQL
        raise ValueError(f"Unexpected TIME_ZONE {name!r}")
    return name


class _Sql:
    """The few places PostgreSQL and SQLite spell differently."""

    def __init__(self, vendor: str, now, wall):
        self.pg = vendor == "postgresql"
        # `now` is the moment the figures are computed for; `wall` stamps the rows written.
        self.now, self.wall = self.literal(now), self.literal(wall)
        self.true, self.false = ("TRUE", "FALSE") if self.pg else ("1", "0")

    def literal(self, moment) -> str:
        from django.db import connection

        if self.pg:
            return f"CAST('{moment.isoformat()}' AS timestamptz)"
        return f"'{connection.ops.adapt_datetimefield_value(moment)}'"

    def temp(self, name: str) -> str:
        return f"CREATE TEMP TABLE {name} ON COMMIT DROP AS" if self.pg else f"CREATE TEMP TABLE {name} AS"

    def hours(self, a: str, b: str) -> str:
        if self.pg:
            return f"(EXTRACT(EPOCH FROM ({a}) - ({b})) / 3600.0)"
        return f"((julianday({a}) - julianday({b})) * 24.0)"

    def round2(self, x: str) -> str:
        return f"ROUND(CAST({x} AS numeric), 2)" if self.pg else f"ROUND({x}, 2)"

    def pushed(self, plan_end: str, due: str) -> str:
        if self.pg:
            return f"({plan_end} + ({self.now} - {due}))"
        days = f"julianday({plan_end}) + (julianday({self.now}) - julianday({due}))"
        return f"strftime('%Y-%m-%d %H:%M:%f', {days})"

    def ts(self, x: str) -> str:
        if self.pg:
            return f"to_char(({x}) AT TIME ZONE '{_tz_name()}', 'YYYY-MM-DD HH24:MI')"
        return f"strftime('%Y-%m-%d %H:%M', {x})"

    def one_decimal(self, x: str) -> str:
        return f"to_char(({x}), 'FM999999990.0')" if self.pg else f"printf('%.1f', {x})"

    def po_number(self, x: str) -> str:
        return f"('PO-' || lpad(CAST({x} AS text), 6, '0'))" if self.pg else f"printf('PO-%06d', {x})"

    def json(self, *pairs: tuple[str, str]) -> str:
        inner = ", ".join(f"'{k}', {v}" for k, v in pairs)
        return f"CAST(json_build_object({inner}) AS jsonb)" if self.pg else f"json_object({inner})"

    def distinct(self, a: str, b: str) -> str:
        return f"({a} IS DISTINCT FROM {b})" if self.pg else f"({a} IS NOT {b})"

    def drop(self, name: str) -> str:
        # Inside an outer transaction (a test, a caller's atomic block) ON COMMIT has not come.
        return f"DROP TABLE IF EXISTS {'pg_temp' if self.pg else 'temp'}.{name}"


def _candidates_sql(q: _Sql, *, full: bool) -> str:
    task_types = " UNION ALL ".join(f"SELECT '{t}' AS task_type" for t in [*TaskType.values, ""])
    # The most specific active policy for every (definition code, step type) pair: a small table.
    policy = f"""
pairs AS (
    SELECT d.code, t.task_type FROM (SELECT DISTINCT code FROM fulfillment_processdefinition) d
    CROSS JOIN ({task_types}) t
), pol AS (
    SELECT pairs.code, pairs.task_type,
           (SELECT jp.id FROM fulfillment_jeopardypolicy jp
             WHERE jp.active = {q.true}
               AND (jp.process_code = pairs.code OR jp.process_code = '')
               AND (jp.task_type = pairs.task_type OR jp.task_type = '')
             ORDER BY (jp.process_code <> '') DESC, (jp.task_type <> '') DESC, jp.id
             LIMIT 1) AS policy_id
      FROM pairs
)"""  # noqa: S608
    scope = "" if full else f"AND (p.jeopardy_dirty = {q.true} OR p.current_step_due < {q.now})"
    # An overrunning process that was not replanned and keeps its score and priority differs from
    # what was written only by the clock (its expected end and delay grow with the overrun): an
    # incremental scan leaves it alone, so it writes only the rows that really changed; a full
    # scan (every OMS_JEOPARDY_FULL_SCAN_EVERY-th) brings those figures to the scan's time.
    clock_only = (
        q.false if full else f"(z.dirty = {q.false} AND z.overrun = {q.true} AND z.old_expected IS NOT NULL)"
    )
    expected = (
        f"CASE WHEN p.current_step_due < {q.now} THEN {q.pushed('p.plan_end', 'p.current_step_due')} "
        f"ELSE p.plan_end END"
    )
    # Thresholds as [lo, hi) bands and ranges as rows: scoring is a join against a few rows,
    # evaluated once per process (a correlated subquery would be re-planned into every use).
    bands = """
thr AS (
    SELECT policy_id, min_delay_hours AS lo, score,
           LEAD(min_delay_hours) OVER (PARTITION BY policy_id ORDER BY min_delay_hours) AS hi
      FROM fulfillment_jeopardythreshold
), rng AS (
    SELECT policy_id, priority, min_score, max_score FROM fulfillment_jeopardypriorityrange
)"""
    return f"""
WITH {policy}, {bands}, cand AS (
    SELECT p.id, p.fulfillment_line_id, p.current_step_id, p.required_end, p.jeopardy_dirty AS dirty,
           p.jeopardy_score AS old_score, p.jeopardy_priority AS old_priority,
           p.jeopardy_delay_hours AS old_delay, p.expected_end AS old_expected,
           {expected} AS expected_end,
           CASE WHEN p.current_step_due < {q.now} THEN {q.true} ELSE {q.false} END AS overrun,
           p.current_task_type AS task_type, pol.policy_id
      FROM fulfillment_processinstance p
      JOIN fulfillment_processdefinition d ON d.id = p.definition_id
      LEFT JOIN pol ON pol.code = d.code AND pol.task_type = p.current_task_type
     WHERE p.status IN {OPEN_PROCESS_SQL} {scope}
), delayed AS (
    SELECT c.*, {q.round2(q.hours("c.expected_end", "c.required_end"))} AS delay FROM cand c
), scored AS (
    SELECT x.*, COALESCE(t.score, 0) AS score
      FROM delayed x
      LEFT JOIN thr t ON t.policy_id = x.policy_id AND x.delay >= t.lo AND (t.hi IS NULL OR x.delay < t.hi)
), ranked AS (
    SELECT y.*, COALESCE(r.priority, 'on_time') AS priority
      FROM scored y
      LEFT JOIN rng r ON r.policy_id = y.policy_id AND y.score >= r.min_score
                     AND (r.max_score IS NULL OR y.score <= r.max_score)
), changed AS (
    SELECT z.* FROM ranked z
     WHERE z.dirty = {q.true} OR z.score <> z.old_score OR z.priority <> z.old_priority
        OR (({q.distinct("z.delay", "z.old_delay")} OR {q.distinct("z.expected_end", "z.old_expected")})
            AND NOT {clock_only})
)
SELECT * FROM changed"""  # noqa: S608


def _details_sql(q: _Sql) -> str:
    """The changed rows (a small table whose size the planner now knows) with their order,
    channel, role and readable reason."""
    return f"""
SELECT ch.id, ch.fulfillment_line_id AS line_id, fl.order_id, fl.order_number, o.channel_id,
       ch.current_step_id AS step_id, ch.task_type, {_role_sql("ch.task_type")} AS role,
       ch.expected_end, ch.required_end, ch.delay, ch.score, ch.priority,
       ch.old_score, ch.old_priority,
       {_rank_sql("ch.priority")} AS new_rank, {_rank_sql("ch.old_priority")} AS old_rank,
       substr({_reason_sql(q)}, 1, 500) AS reason
  FROM jeop_raw ch
  JOIN fulfillment_fulfillmentline fl ON fl.id = ch.fulfillment_line_id
  JOIN orders_salesorder o ON o.id = fl.order_id
  LEFT JOIN fulfillment_stepinstance s ON s.id = ch.current_step_id
  LEFT JOIN fulfillment_stepdefinition sd ON sd.id = s.step_definition_id
  LEFT JOIN inventory_warehouse w ON w.id = fl.warehouse_id"""  # noqa: S608


def _reason_sql(q: _Sql) -> str:
    late = (
        f"CASE WHEN ch.delay > 0 THEN {q.one_decimal('ch.delay / 24.0')} || ' days late' "
        f"WHEN ch.delay < 0 THEN {q.one_decimal('-ch.delay / 24.0')} || ' days early' ELSE 'on time' END"
    )
    why = (
        "CASE WHEN s.status = 'held' THEN s.last_error "
        "WHEN s.status = 'failed' THEN 'failed: ' || substr(s.last_error, 1, 120) "
        f"WHEN s.task_type = 'wait_for_receipt' AND fl.purchase_order_id IS NOT NULL "
        f"THEN 'waiting for receipt of ' || {q.po_number('fl.purchase_order_id')} "
        "WHEN s.task_type = 'wait_for_shipment' AND w.code IS NOT NULL "
        "THEN 'waiting for the shipment from ' || w.code "
        "WHEN s.status = 'waiting' THEN 'waiting at ' || sd.name "
        "ELSE NULL END"
    )
    return (
        "CASE WHEN ch.expected_end IS NULL THEN 'Not planned yet' "
        "WHEN ch.required_end IS NULL THEN 'No required date (no requested or promised date)' "
        f"ELSE COALESCE(sd.name, 'Process') || ': required ' || {q.ts('ch.required_end')} || ', expected ' "
        f"|| {q.ts('ch.expected_end')} || ' (' || {late} || ')' || COALESCE(' — ' || ({why}), '') END"
    )


def _exec(cursor, sql: str) -> int:
    cursor.execute(sql)
    return max(cursor.rowcount or 0, 0)


def jeopardy_scan(*, full: bool = False, now=None) -> ScanResult:
    """Recompute the jeopardy of open processes (all of them with `full`, else those replanned
    since the last scan and those whose current step overran) and act on what changed."""
    from django.db import connection

    from oms.kernel import events

    from ..models import JeopardyScan

    now = now or timezone.now()
    kind = "full" if full else "incremental"
    q = _Sql(connection.vendor, now, timezone.now())
    with transaction.atomic():
        with connection.cursor() as cursor:
            if q.pg:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('fulfillment.jeopardy_scan'))")
            scan = JeopardyScan.objects.create(kind=kind)
            for name in ("jeop_raw", "jeop", "jeop_orders"):
                cursor.execute(q.drop(name))
            if q.pg:
                # A scan is a few big set-based statements: compiling them (JIT) costs more than it saves.
                cursor.execute("SET LOCAL jit = off")
            # Two steps, so the planner knows how few rows changed before it joins their details.
            cursor.execute(f"{q.temp('jeop_raw')} {_candidates_sql(q, full=full)}")
            if q.pg:
                cursor.execute("ANALYZE jeop_raw")  # temp tables get no statistics otherwise
            cursor.execute(f"{q.temp('jeop')} {_details_sql(q)}")
            # The orders' worst before the update (only orders with a changed score or priority).
            key = f"({_rank_sql('p.jeopardy_priority')} * 1000000 + p.jeopardy_score)"
            cursor.execute(
                f"""{q.temp("jeop_orders")}
SELECT fl.order_id, MIN(fl.order_number) AS order_number, MAX({key}) AS old_key
  FROM fulfillment_processinstance p JOIN fulfillment_fulfillmentline fl ON fl.id = p.fulfillment_line_id
 WHERE p.status IN {OPEN_PROCESS_SQL}
   AND fl.order_id IN (SELECT order_id FROM jeop WHERE score <> old_score OR priority <> old_priority)
 GROUP BY fl.order_id"""  # noqa: S608
            )
            processes = _exec(
                cursor,
                f"""UPDATE fulfillment_processinstance SET
    expected_end = n.expected_end, jeopardy_delay_hours = n.delay, jeopardy_score = n.score,
    jeopardy_priority = n.priority, jeopardy_reason = n.reason, jeopardy_dirty = {q.false},
    jeopardy_changed_at = CASE WHEN n.score <> n.old_score OR n.priority <> n.old_priority
                               THEN {q.wall} ELSE fulfillment_processinstance.jeopardy_changed_at END,
    updated_at = {q.wall}
  FROM jeop n WHERE fulfillment_processinstance.id = n.id""",  # noqa: S608
            )
            steps = _exec(
                cursor,
                f"""UPDATE fulfillment_stepinstance SET
    jeopardy_delay_hours = n.delay, jeopardy_score = n.score, jeopardy_priority = n.priority,
    jeopardy_reason = n.reason, updated_at = {q.wall}
  FROM jeop n WHERE fulfillment_stepinstance.id = n.step_id
   AND (fulfillment_stepinstance.jeopardy_score <> n.score
        OR fulfillment_stepinstance.jeopardy_priority <> n.priority
        OR fulfillment_stepinstance.jeopardy_reason <> n.reason
        OR {q.distinct("fulfillment_stepinstance.jeopardy_delay_hours", "n.delay")})""",  # noqa: S608
            )
            resolved = _alerts_resolve(cursor, q, scan.pk)
            raised = _alerts_raise(cursor, q, scan.pk)
            orders = _orders_publish(cursor, q, scan.pk)
            digests = _digests(cursor, q, scan.pk)
            for name in ("jeop_raw", "jeop", "jeop_orders"):
                cursor.execute(q.drop(name))
        JeopardyScan.objects.filter(pk=scan.pk).update(
            finished_at=timezone.now(),
            processes_changed=processes,
            steps_changed=steps,
            alerts_raised=raised,
            alerts_resolved=resolved,
            orders_changed=orders,
            digests=digests,
        )
        if orders or digests:
            transaction.on_commit(events.kick_relay, robust=True)
    return ScanResult(scan.pk, kind, processes, steps, raised, resolved, orders, digests)


def _audit_alerts_sql(q: _Sql, kind: str, where: str, *, before: bool = True) -> str:
    before_sql = q.json(("status", "'open'")) if before else "NULL"
    return f"""INSERT INTO fulfillment_fulfillmentevent
    (order_number, fulfillment_line_id, process_id, step_id, kind, actor, before, after, data,
     correlation_id, created_at)
SELECT a.order_number, a.fulfillment_line_id, a.process_id, a.step_id, '{kind}', 'system',
       {before_sql}, {q.json(("status", "a.status"), ("resolution", "a.resolution"))},
       {q.json(("alert", "a.id"), ("priority", "a.priority"), ("score", "a.score"), ("reason", "a.reason"))},
       '', {q.wall}
  FROM fulfillment_jeopardyalert a WHERE {where}"""  # noqa: S608


def _alerts_resolve(cursor, q: _Sql, scan_id: int) -> int:
    rank = _rank_sql("fulfillment_jeopardyalert.priority")
    unresolved = "fulfillment_jeopardyalert.status IN ('open', 'acknowledged')"
    total = 0
    for resolution, comparison in (("back_on_time", "<"), ("superseded", ">")):
        marker = f"scan:{scan_id}:{resolution}"
        n = _exec(
            cursor,
            f"""UPDATE fulfillment_jeopardyalert SET status = 'resolved', resolution = '{resolution}',
    resolved_at = {q.wall}, updated_at = {q.wall}, note = '{marker}'
  FROM jeop n WHERE fulfillment_jeopardyalert.process_id = n.id AND {unresolved}
   AND n.new_rank {comparison} {rank}""",  # noqa: S608
        )
        if n:
            cursor.execute(_audit_alerts_sql(q, "alert_resolved", f"a.note = '{marker}'"))
            cursor.execute(f"UPDATE fulfillment_jeopardyalert SET note = '' WHERE note = '{marker}'")  # noqa: S608
        total += n
    return total


def _alerts_raise(cursor, q: _Sql, scan_id: int) -> int:
    n = _exec(
        cursor,
        f"""INSERT INTO fulfillment_jeopardyalert
    (process_id, fulfillment_line_id, step_id, order_id, order_number, channel_id, priority, score,
     delay_hours, reason, role, status, resolution, note, scan_id, raised_at, updated_at)
SELECT n.id, n.line_id, n.step_id, n.order_id, n.order_number, n.channel_id, n.priority, n.score,
       n.delay, n.reason, n.role, 'open', '', '', {scan_id}, {q.wall}, {q.wall}
  FROM jeop n
 WHERE n.new_rank > n.old_rank AND n.priority <> 'on_time'
-- An unresolved alert of the process (a scan that raced this one) wins: at most one per process.
ON CONFLICT DO NOTHING""",  # noqa: S608
    )
    if n:
        cursor.execute(
            _audit_alerts_sql(q, "alert_raised", f"a.scan_id = {scan_id} AND a.status = 'open'", before=False)
        )
    return n


def _orders_publish(cursor, q: _Sql, scan_id: int) -> int:
    from oms.kernel import events

    subscribers = [s.name for s in events.subscribers_for("order.jeopardy_changed")]
    key = f"({_rank_sql('p.jeopardy_priority')} * 1000000 + p.jeopardy_score)"
    marker = f"jeopardy-scan:{scan_id}"
    payload = q.json(
        ("number", "w.order_number"),
        ("channel", "c.code"),
        ("order_id", "w.order_id"),
        ("priority", "w.priority"),
        ("score", "w.score"),
        ("reason", "w.reason"),
        ("fulfillment_line", "w.line_id"),
        (
            "before",
            q.json(
                ("priority", _priority_of_rank_sql("w.old_key / 1000000")), ("score", "w.old_key % 1000000")
            ),
        ),
    )
    n = _exec(
        cursor,
        f"""INSERT INTO kernel_outboxevent
    (topic, aggregate_type, aggregate_id, payload, correlation_id, created_at)
SELECT 'order.jeopardy_changed', 'order', w.order_number, {payload}, '{marker}', {q.wall}
  FROM (SELECT jo.order_id, jo.order_number, jo.old_key, p.jeopardy_priority AS priority,
               p.jeopardy_score AS score, p.jeopardy_reason AS reason, p.fulfillment_line_id AS line_id,
               {key} AS new_key, o.channel_id,
               ROW_NUMBER() OVER (PARTITION BY jo.order_id ORDER BY {key} DESC, p.id) AS pos
          FROM jeop_orders jo
          JOIN fulfillment_fulfillmentline fl ON fl.order_id = jo.order_id
          JOIN fulfillment_processinstance p
            ON p.fulfillment_line_id = fl.id AND p.status IN {OPEN_PROCESS_SQL}
          JOIN orders_salesorder o ON o.id = jo.order_id) w
  JOIN partners_channel c ON c.id = w.channel_id
 WHERE w.pos = 1 AND w.new_key <> w.old_key""",  # noqa: S608
    )
    if n and subscribers:
        names = " UNION ALL ".join(f"SELECT '{s}' AS name" for s in subscribers)
        cursor.execute(
            f"""INSERT INTO kernel_outboxdelivery
    (event_id, subscriber, aggregate_key, status, attempts, available_at, leased_until, lease_token,
     last_error, created_at, done_at)
SELECT e.id, s.name, 'order:' || e.aggregate_id, 'pending', 0, {q.wall}, NULL, '', '', {q.wall}, NULL
  FROM kernel_outboxevent e CROSS JOIN ({names}) s
 WHERE e.topic = 'order.jeopardy_changed' AND e.correlation_id = '{marker}'"""  # noqa: S608
        )
    return n


def _digests(cursor, q: _Sql, scan_id: int) -> int:
    """One digest event per role that got new alerts in this scan (the mail goes out from the
    outbox, so a mail server that is down delays it, never fails the scan)."""
    from oms.kernel import events

    cursor.execute(
        f"""SELECT role, cnt, order_number, priority, score, reason, id FROM (
    SELECT a.role, COUNT(*) OVER (PARTITION BY a.role) AS cnt, a.order_number, a.priority, a.score,
           a.reason, a.id,
           ROW_NUMBER() OVER (PARTITION BY a.role ORDER BY {_rank_sql("a.priority")} DESC, a.score DESC, a.id)
               AS pos
      FROM fulfillment_jeopardyalert a WHERE a.scan_id = {scan_id} AND a.status = 'open') x
 WHERE pos <= {DIGEST_LIST_LIMIT} ORDER BY role, pos"""  # noqa: S608
    )
    by_role: dict[str, dict[str, Any]] = {}
    for role, count, number, priority, score, reason, alert_id in cursor.fetchall():
        digest = by_role.setdefault(role, {"role": role, "scan": scan_id, "count": count, "alerts": []})
        digest["alerts"].append(
            {"alert": alert_id, "number": number, "priority": priority, "score": score, "reason": reason}
        )
    for role, digest in sorted(by_role.items()):
        events.publish("fulfillment.jeopardy_digest", digest, aggregate=("jeopardy_digest", role))
    return len(by_role)


# --- the same policy, read in Python (planning scores the steps ahead of the current one) ----


@dataclass(frozen=True)
class PolicyBook:
    """Every active policy with its thresholds and ranges, read once (three queries)."""

    policies: list

    @classmethod
    def load(cls) -> PolicyBook:
        from ..models import JeopardyPolicy

        return cls(
            list(JeopardyPolicy.objects.filter(active=True).prefetch_related("thresholds", "priority_ranges"))
        )

    def policy_for(self, process_code: str, task_type: str):
        """The most specific active policy, as the scan picks it."""
        fitting = [
            p
            for p in self.policies
            if p.process_code in ("", process_code) and p.task_type in ("", task_type)
        ]
        fitting.sort(key=lambda p: (p.process_code == "", p.task_type == "", p.pk))
        return fitting[0] if fitting else None

    def judge(self, process_code: str, task_type: str, delay_hours: Decimal | None) -> tuple[int, str]:
        """(score, priority) of a delay, as the scan computes them."""
        policy = self.policy_for(process_code, task_type)
        score = 0
        if policy is not None and delay_hours is not None:
            reached = [t for t in policy.thresholds.all() if t.min_delay_hours <= delay_hours]
            if reached:
                score = max(reached, key=lambda t: t.min_delay_hours).score
        priority = JeopardyPriority.ON_TIME
        if policy is not None:
            for r in policy.priority_ranges.all():
                if r.min_score <= score and (r.max_score is None or score <= r.max_score):
                    priority = r.priority
        return score, priority
