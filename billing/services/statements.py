"""Bank statements: imported from CSV or CAMT.053 XML, matched to invoices by the invoice number
in the remittance reference, in a handful of set-based statements whatever the number of lines
(docs/payments.md). Exact matches are posted at once (a bank-transfer payment allocated to the
invoice, which becomes paid); under- and over-payments, unmatched lines, duplicates and lines
whose invoice is in another currency wait for a person on the match review screen."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree as ET

from django.db import connection, transaction
from django.utils import timezone

from customers.services import credit_exposure_adjust
from oms.kernel import events
from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import validate_currency

from ..models import BankStatement, Invoice, StatementLine
from ..states import InvoiceStatus, MatchStatus
from .common import CREDIT_QUANTUM, audit, money_in
from .payments import Allocation, payment_record_offline

INVOICE_REF = re.compile(r"INV-?\s?(\d{6,})", re.IGNORECASE)
MAX_LINES = 500_000


@dataclass(frozen=True)
class ParsedLine:
    booking_date: date
    amount: Decimal
    currency: str
    reference: str
    counterparty: str


def match_key(reference: str) -> str:
    m = INVOICE_REF.search(reference or "")
    return f"INV-{m.group(1)}" if m else ""


def parse_csv(content: bytes) -> list[ParsedLine]:
    """Columns: date (ISO), amount, currency, reference, counterparty; credits only (amount > 0;
    debits are the bank's own business and are skipped)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("The file is not UTF-8 text.", fields={"file": [str(exc)]}) from exc
    reader = csv.DictReader(io.StringIO(text))
    need = {"date", "amount", "currency", "reference"}
    if not reader.fieldnames or not need <= {f.strip().lower() for f in reader.fieldnames}:
        raise ValidationFailed(
            "Not a statement CSV.", fields={"file": [f"Columns needed: {', '.join(sorted(need))}."]}
        )
    out = []
    for n, row in enumerate(reader, start=2):
        row = {
            k.strip().lower(): (v or "").strip() for k, v in row.items() if k and isinstance(v, str | None)
        }
        try:
            booked = date.fromisoformat(row["date"])
        except ValueError as exc:
            raise ValidationFailed("Bad date.", fields={"file": [f"line {n}: '{row['date']}'"]}) from exc
        if row["amount"].startswith("-"):
            continue
        out.append(
            ParsedLine(
                booked, row["amount"], row["currency"].upper(), row["reference"], row.get("counterparty", "")
            )
        )
    return out


def _t(el, path: str, ns: dict) -> str:
    found = el.find(path, ns)
    return (found.text or "").strip() if found is not None and found.text else ""


def parse_camt053(content: bytes) -> list[ParsedLine]:
    """ISO 20022 camt.053 (any version): every credit entry (Ntry, CdtDbtInd CRDT) with its
    booking date, amount and currency, the unstructured or structured remittance reference and
    the debtor's name."""
    try:
        root = ET.fromstring(content)  # noqa: S314 (no DTDs or entities are resolved by ElementTree)
    except ET.ParseError as exc:
        raise ValidationFailed("Not a CAMT.053 file.", fields={"file": [str(exc)]}) from exc
    m = re.match(r"\{(.*)\}", root.tag)
    ns = {"c": m.group(1)} if m else {"c": ""}
    p = "c:" if m else ""
    out = []
    for n, entry in enumerate(root.iter(f"{{{ns['c']}}}Ntry" if m else "Ntry"), start=1):
        if _t(entry, f"{p}CdtDbtInd", ns) != "CRDT":
            continue
        amt = entry.find(f"{p}Amt", ns)
        if amt is None:
            raise ValidationFailed("An entry without an amount.", fields={"file": [f"entry {n}"]})
        booked = _t(entry, f"{p}BookgDt/{p}Dt", ns) or _t(entry, f"{p}BookgDt/{p}DtTm", ns)[:10]
        refs = [
            _t(entry, f".//{p}RmtInf/{p}Ustrd", ns),
            _t(entry, f".//{p}RmtInf/{p}Strd/{p}CdtrRefInf/{p}Ref", ns),
            _t(entry, f".//{p}Refs/{p}EndToEndId", ns),
        ]
        try:
            booking_date = date.fromisoformat(booked)
        except ValueError as exc:
            raise ValidationFailed("Bad booking date.", fields={"file": [f"entry {n}: '{booked}'"]}) from exc
        out.append(
            ParsedLine(
                booking_date,
                (amt.text or "").strip(),
                (amt.get("Ccy") or "").upper(),
                " ".join(r for r in refs if r),
                _t(entry, f".//{p}RltdPties/{p}Dbtr/{p}Nm", ns)
                or _t(entry, f".//{p}RltdPties/{p}Dbtr/{p}Pty/{p}Nm", ns),
            )
        )
    return out


def statement_import(
    *,
    content: bytes,
    format: str,
    currency: str,
    filename: str = "",
    actor: str = "system",
    match: bool = True,
) -> BankStatement:
    """Import a statement of the bank account kept in `currency`. Every line is checked first: a
    line in another currency or with more decimals than the currency has refuses the whole file
    (nothing written). Then the lines are matched (statement_match)."""
    currency = validate_currency(currency)
    if format == "csv":
        parsed = parse_csv(content)
    elif format == "camt053":
        parsed = parse_camt053(content)
    else:
        raise ValidationFailed("Unknown statement format.", fields={"format": ["csv or camt053"]})
    if len(parsed) > MAX_LINES:
        raise ValidationFailed("Too many lines.", fields={"file": [f"At most {MAX_LINES}."]})
    rows = []
    for n, line in enumerate(parsed, start=1):
        if line.currency != currency:
            raise ValidationFailed(
                "A statement line in another currency.",
                fields={"file": [f"line {n}: {line.currency}, the account is in {currency}."]},
            )
        amount = money_in(line.amount, currency, field=f"line {n}")
        rows.append((n, line, amount))
    with transaction.atomic():
        statement = BankStatement.objects.create(
            format=format, filename=filename[:200], currency=currency, line_count=len(rows), imported_by=actor
        )
        audit(
            "statement", statement.pk, "imported", actor=actor, after={"lines": len(rows), "format": format}
        )
        if match and connection.vendor == "postgresql":
            posted = _import_and_match_pg(statement, rows, actor)
        else:
            StatementLine.objects.bulk_create(
                (
                    StatementLine(
                        statement=statement,
                        line_no=n,
                        booking_date=line.booking_date,
                        amount=amount,
                        currency=currency,
                        reference=line.reference[:140],
                        match_key=match_key(line.reference),
                        counterparty=line.counterparty[:140],
                    )
                    for n, line, amount in rows
                ),
                batch_size=5000,
            )
            posted = 0
    if posted:
        events.publish("billing.statement_posted", {"statement": statement.pk, "posted": posted})
    if match and connection.vendor != "postgresql":
        statement_match(statement_id=statement.pk, actor=actor)
    return statement


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _import_and_match_pg(statement: BankStatement, rows, actor: str) -> int:
    """PostgreSQL: the lines go in by COPY to a temporary table, are classified against the
    invoices in one pass, and every row (line, payment, allocation, capture record, audit row,
    invoice) is written once, by one statement per table. The invoices of exact matches are
    updated first, guarded by the open amount read: a payment that reached one of them meanwhile
    makes the import fail with a 409 (nothing written; import again)."""
    sid, now = statement.pk, timezone.now()
    buf = io.StringIO()
    for n, line, amount in rows:
        buf.write(
            f"{n}\t{line.booking_date.isoformat()}\t{amount}\t{_copy_text(line.reference[:140])}\t"
            f"{match_key(line.reference)}\t{_copy_text(line.counterparty[:140])}\n"
        )
    buf.seek(0)
    args = {"s": sid, "now": now, "actor": actor, "ccy": statement.currency}
    with connection.cursor() as cur:
        # Dropped at commit; an enclosing transaction (a second import in it) finds them still there.
        cur.execute("DROP TABLE IF EXISTS billing_stmt_in, billing_stmt_cls")
        cur.execute(
            """CREATE TEMP TABLE billing_stmt_in (line_no int, booking_date date, amount numeric(20, 4),
                   reference varchar(140), match_key varchar(30), counterparty varchar(140)) ON COMMIT DROP"""
        )
        cur.cursor.copy_expert("COPY billing_stmt_in FROM STDIN", buf)
        cur.execute(
            f"""CREATE TEMP TABLE billing_stmt_cls ON COMMIT DROP AS
                SELECT s.line_no, s.booking_date, s.amount, s.reference, s.match_key, s.counterparty,
                       i.id AS invoice_id, i.customer_id, i.order_id, i.order_number, i.total,
                       i.amount_paid, i.amount_credited, i.credit_amount,
                       COALESCE(s.amount - {_OPEN}, 0) AS difference,
                       CASE WHEN i.id IS NULL THEN 'unmatched'
                            WHEN i.currency <> %(ccy)s THEN 'currency'
                            WHEN s.amount = {_OPEN} THEN 'matched'
                            WHEN s.amount < {_OPEN} THEN 'underpaid'
                            ELSE 'overpaid' END AS status
                  FROM (SELECT *, COUNT(*) OVER (PARTITION BY match_key) AS uses FROM billing_stmt_in) s
                  LEFT JOIN billing_invoice i
                    ON s.match_key <> '' AND s.uses = 1 AND i.number = s.match_key AND i.status = 'issued'""",  # noqa: S608 (constant fragments only)
            args,
        )
        cur.execute("ANALYZE billing_stmt_cls")
        cur.execute("SELECT COUNT(*) FROM billing_stmt_cls WHERE status = 'matched'")
        matched = cur.fetchone()[0]
        cur.execute(
            """UPDATE billing_invoice AS i
                  SET amount_paid = i.amount_paid + c.amount, status = 'paid', paid_at = %(now)s
                 FROM billing_stmt_cls c
                WHERE c.status = 'matched' AND i.id = c.invoice_id AND i.status = 'issued'
                  AND i.amount_paid = c.amount_paid AND i.amount_credited = c.amount_credited""",
            args,
        )
        if cur.rowcount != matched:
            raise Conflict("Invoices of this statement changed while it was matched; import it again.")
        cur.execute(
            """INSERT INTO billing_payment (number, order_id, order_number, customer_id, channel_code, method,
                   status, currency, amount, authorized_amount, captured_amount, refunded_amount,
                   allocated_amount, provider, provider_ref, provider_token, failure_reason, reference,
                   check_number, source_key, created_at, updated_at)
               SELECT 'PAY-S' || %(s)s || '-' || c.line_no, c.order_id, c.order_number, c.customer_id, '',
                      'bank_transfer', 'captured', %(ccy)s, c.amount, c.amount, c.amount, 0, c.amount,
                      '', '', '', '', SUBSTR(c.reference, 1, 80), '', 'stmt:' || %(s)s || ':' || c.line_no,
                      %(now)s, %(now)s
                 FROM billing_stmt_cls c WHERE c.status = 'matched'""",
            args,
        )
        cur.execute(
            """INSERT INTO billing_statementline (statement_id, line_no, booking_date, amount, currency,
                   reference, match_key, counterparty, match_status, invoice_id, difference, payment_id,
                   reviewed_by, reviewed_at)
               SELECT %(s)s, c.line_no, c.booking_date, c.amount, %(ccy)s, c.reference, c.match_key,
                      c.counterparty, CASE WHEN c.status = 'matched' THEN 'posted' ELSE c.status END,
                      c.invoice_id, c.difference, p.id,
                      CASE WHEN p.id IS NULL THEN '' ELSE 'auto' END,
                      CASE WHEN p.id IS NULL THEN NULL ELSE %(now)s END
                 FROM billing_stmt_cls c
                 LEFT JOIN billing_payment p
                   ON c.status = 'matched' AND p.source_key = 'stmt:' || %(s)s || ':' || c.line_no""",
            args,
        )
        if not matched:
            return 0
        posted = "l.statement_id = %(s)s AND l.payment_id IS NOT NULL"
        cur.execute(
            f"""INSERT INTO billing_paymentallocation (payment_id, invoice_id, amount, created_at)
                SELECT l.payment_id, l.invoice_id, l.amount, %(now)s
                  FROM billing_statementline l WHERE {posted}""",  # noqa: S608 (constant fragments only)
            args,
        )
        cur.execute(
            f"""INSERT INTO billing_paymentoperation (payment_id, kind, status, amount, key, provider_ref,
                       reference, error, attempts, created_at, settled_at)
                SELECT l.payment_id, 'capture', 'succeeded', l.amount, 'offline:stmt:' || l.id, '',
                       'statement ' || l.statement_id, '', 1, %(now)s, %(now)s
                  FROM billing_statementline l WHERE {posted}""",  # noqa: S608 (constant fragments only)
            args,
        )
        cur.execute(
            f"""INSERT INTO billing_billingevent
                       (entity, entity_id, kind, actor, before, after, reason, created_at)
                SELECT 'invoice', l.invoice_id, 'paid', %(actor)s, '{{"status": "issued"}}',
                       '{{"status": "paid"}}',
                       'bank statement ' || l.statement_id || ' line ' || l.line_no, %(now)s
                  FROM billing_statementline l WHERE {posted}""",  # noqa: S608 (constant fragments only)
            args,
        )
        cur.execute(
            f"""INSERT INTO billing_billingevent
                       (entity, entity_id, kind, actor, before, after, reason, created_at)
                SELECT 'payment', l.payment_id, 'received', %(actor)s, '{{"status": "pending"}}',
                       '{{"status": "captured", "method": "bank_transfer"}}', '', %(now)s
                  FROM billing_statementline l WHERE {posted}""",  # noqa: S608 (constant fragments only)
            args,
        )
        cur.execute(
            """SELECT customer_id,
                      SUM(credit_amount - CASE WHEN total = 0 OR credit_amount = 0 THEN credit_amount
                             ELSE ROUND(credit_amount * (amount_paid + amount_credited) / total, 4) END)
                 FROM billing_stmt_cls WHERE status = 'matched' GROUP BY customer_id ORDER BY customer_id"""
        )
        releases = cur.fetchall()
    for customer_id, delta in releases:
        delta = Decimal(delta).quantize(CREDIT_QUANTUM)
        if delta:
            credit_exposure_adjust(customer_id=customer_id, open_receivables_delta=-delta)
    return matched


_OPEN = "(i.total - i.amount_paid - i.amount_credited)"


@transaction.atomic
def statement_match(*, statement_id: int, actor: str = "system") -> dict[str, int]:
    """Match and post a statement's unmatched lines in set-based statements (PostgreSQL and
    SQLite both run UPDATE ... FROM): lock the invoices named (in primary-key order), classify
    every line at once, post the exact matches at once."""
    now = timezone.now()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Fresh rows: without statistics the planner would nest loops over the whole table.
            cur.execute("ANALYZE billing_statementline")
            cur.execute(
                """SELECT i.id FROM billing_invoice i
                    WHERE i.number IN (SELECT match_key FROM billing_statementline
                                        WHERE statement_id = %s AND match_key <> '')
                      AND i.status = 'issued' ORDER BY i.id FOR UPDATE""",
                [statement_id],
            )
        # A reference used by more than one line of the statement is left for a person.
        cur.execute(
            f"""UPDATE billing_statementline AS l
                   SET invoice_id = i.id,
                       difference = l.amount - {_OPEN},
                       match_status = CASE WHEN i.currency <> l.currency THEN 'currency'
                                           WHEN l.amount = {_OPEN} THEN 'matched'
                                           WHEN l.amount < {_OPEN} THEN 'underpaid'
                                           ELSE 'overpaid' END
                  FROM (SELECT id, match_key
                          FROM (SELECT id, match_key, COUNT(*) OVER (PARTITION BY match_key) AS n
                                  FROM billing_statementline
                                 WHERE statement_id = %s AND match_key <> '') AS k
                         WHERE n = 1) AS u,
                       billing_invoice AS i
                 WHERE l.id = u.id AND l.match_status = 'unmatched'
                   AND i.number = u.match_key AND i.status = 'issued'""",  # noqa: S608 (constant fragments only)
            [statement_id],
        )
        posted = _post_exact(cur, statement_id, now, actor)
        cur.execute(
            "SELECT match_status, COUNT(*) FROM billing_statementline"
            " WHERE statement_id = %s GROUP BY match_status",
            [statement_id],
        )
        counts = dict(cur.fetchall())
    if posted:
        events.publish("billing.statement_posted", {"statement": statement_id, "posted": posted})
    return counts


def _post_exact(cur, statement_id: int, now, actor: str) -> int:
    """Exact matches become bank-transfer payments allocated to their invoice (which is then
    paid), with their audit rows, in one statement each; the credit exposure moves per customer."""
    args = {"s": statement_id, "now": now, "actor": actor}
    cur.execute(
        """INSERT INTO billing_payment (number, order_id, order_number, customer_id, channel_code, method,
                   status,
                   currency, amount, authorized_amount, captured_amount, refunded_amount, allocated_amount,
                   provider, provider_ref, provider_token, failure_reason, reference, check_number,
                   source_key,
                   created_at, updated_at)
           SELECT 'PAY-S' || l.id, i.order_id, i.order_number, i.customer_id, '', 'bank_transfer', 'captured',
                  l.currency, l.amount, l.amount, l.amount, 0, l.amount, '', '', '', '',
                  SUBSTR(l.reference, 1, 80), '', 'stmt:' || l.id, %(now)s, %(now)s
             FROM billing_statementline l JOIN billing_invoice i ON i.id = l.invoice_id
            WHERE l.statement_id = %(s)s AND l.match_status = 'matched'""",
        args,
    )
    cur.execute(
        """UPDATE billing_statementline AS l
              SET payment_id = p.id, match_status = 'posted', reviewed_by = 'auto', reviewed_at = %(now)s
             FROM billing_payment p
            WHERE l.statement_id = %(s)s AND l.match_status = 'matched' AND p.source_key = 'stmt:' || l.id""",
        args,
    )
    posted = cur.rowcount
    if not posted:
        return 0
    just = "l.statement_id = %(s)s AND l.match_status = 'posted' AND l.reviewed_at = %(now)s"
    cur.execute(
        f"""INSERT INTO billing_paymentallocation (payment_id, invoice_id, amount, created_at)
            SELECT l.payment_id, l.invoice_id, l.amount, %(now)s FROM billing_statementline l WHERE {just}""",  # noqa: S608 (constant fragments only)
        args,
    )
    cur.execute(
        f"""INSERT INTO billing_paymentoperation (payment_id, kind, status, amount, key, provider_ref,
                   reference,
                   error, attempts, created_at, settled_at)
            SELECT l.payment_id, 'capture', 'succeeded', l.amount, 'offline:stmt:' || l.id, '',
                   'statement ' || l.statement_id, '', 1, %(now)s, %(now)s
              FROM billing_statementline l WHERE {just}""",  # noqa: S608 (constant fragments only)
        args,
    )
    # Each customer's open receivables drop by what the invoices still held of their credit
    # share (the same telescoping as common._released: settled before -> fully settled).
    cur.execute(
        f"""SELECT i.customer_id,
                   SUM(i.credit_amount - CASE WHEN i.total = 0 OR i.credit_amount = 0 THEN i.credit_amount
                          ELSE ROUND(i.credit_amount * (i.amount_paid + i.amount_credited) / i.total, 4) END)
              FROM billing_statementline l JOIN billing_invoice i ON i.id = l.invoice_id
             WHERE {just} GROUP BY i.customer_id ORDER BY i.customer_id""",  # noqa: S608 (constant fragments only)
        args,
    )
    releases = cur.fetchall()
    cur.execute(
        f"""UPDATE billing_invoice AS i
               SET amount_paid = i.amount_paid + l.amount, status = 'paid', paid_at = %(now)s
              FROM billing_statementline l WHERE {just} AND i.id = l.invoice_id""",  # noqa: S608 (constant fragments only)
        args,
    )
    cur.execute(
        f"""INSERT INTO billing_billingevent
                   (entity, entity_id, kind, actor, before, after, reason, created_at)
            SELECT 'invoice', l.invoice_id, 'paid', %(actor)s, '{{"status": "issued"}}',
                   '{{"status": "paid"}}',
                   'bank statement ' || l.statement_id || ' line ' || l.line_no, %(now)s
              FROM billing_statementline l WHERE {just}
""",  # noqa: S608 (constant fragments only)
        args,
    )
    cur.execute(
        f"""INSERT INTO billing_billingevent
                   (entity, entity_id, kind, actor, before, after, reason, created_at)
            SELECT 'payment', l.payment_id, 'received', %(actor)s, '{{"status": "pending"}}',
                   '{{"status": "captured", "method": "bank_transfer"}}', '', %(now)s
              FROM billing_statementline l WHERE {just}""",  # noqa: S608 (constant fragments only)
        args,
    )
    for customer_id, delta in releases:
        delta = Decimal(delta).quantize(CREDIT_QUANTUM)
        if delta:
            credit_exposure_adjust(customer_id=customer_id, open_receivables_delta=-delta)
    return posted


def statement_line_post(*, line_id: int, actor: str, invoice_number: str = "") -> StatementLine:
    """A person accepts a flagged line: it becomes a bank-transfer payment allocated to its (or the
    named) invoice up to the open amount; an overpayment's rest stays on the payment, unallocated."""
    with transaction.atomic():
        line = StatementLine.objects.select_for_update(of=("self",)).filter(pk=line_id).first()
        if line is None:
            raise NotFound("No such statement line.")
        if line.match_status in (MatchStatus.POSTED, MatchStatus.DISMISSED):
            raise Conflict("The line was already reviewed.")
        invoice = (
            Invoice.objects.filter(number=invoice_number.strip().upper()).first()
            if invoice_number
            else line.invoice
        )
        if invoice is None:
            raise ValidationFailed("Name the invoice this line pays.", fields={"invoice": ["Required."]})
        if invoice.currency != line.currency:
            raise ValidationFailed(
                "The invoice is in another currency.",
                fields={"invoice": [f"{invoice.number}: {invoice.currency}"]},
            )
        if invoice.status != InvoiceStatus.ISSUED:
            raise Conflict(f"{invoice.number} is {invoice.status}.")
        part = min(line.amount, invoice.open_amount)
        payment = payment_record_offline(
            customer_id=invoice.customer_id,
            method="bank_transfer",
            amount=line.amount,
            currency=line.currency,
            order_id=invoice.order_id,
            allocations=[Allocation(invoice.pk, part)] if part > 0 else [],
            reference=line.reference[:80],
            source_key=f"stmt:{line.pk}",
            actor=actor,
        )
        before = line.match_status
        line.invoice = invoice
        line.payment = payment
        line.match_status = MatchStatus.POSTED
        line.reviewed_by = actor
        line.reviewed_at = timezone.now()
        line.save()
        audit(
            "statement_line",
            line.pk,
            "posted",
            actor=actor,
            before={"status": before},
            after={"invoice": invoice.number, "payment": payment.number},
        )
    return line


@transaction.atomic
def statement_line_dismiss(*, line_id: int, actor: str, reason: str) -> StatementLine:
    if not reason.strip():
        raise ValidationFailed("Say why.", fields={"reason": ["Required."]})
    line = StatementLine.objects.select_for_update(of=("self",)).filter(pk=line_id).first()
    if line is None:
        raise NotFound("No such statement line.")
    if line.match_status in (MatchStatus.POSTED, MatchStatus.DISMISSED):
        raise Conflict("The line was already reviewed.")
    before = line.match_status
    line.match_status = MatchStatus.DISMISSED
    line.reviewed_by = actor
    line.reviewed_at = timezone.now()
    line.save()
    audit("statement_line", line.pk, "dismissed", actor=actor, before={"status": before}, reason=reason)
    return line


def review_lines(*, statement_id: int) -> Iterable[StatementLine]:
    return (
        StatementLine.objects.filter(statement_id=statement_id)
        .exclude(match_status__in=[MatchStatus.POSTED, MatchStatus.DISMISSED])
        .select_related("invoice")
        .order_by("line_no")
    )
