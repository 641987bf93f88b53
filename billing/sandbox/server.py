"""A loopback stand-in for the payment providers.

Stripe subset: POST /v1/payment_intents (confirm + manual capture), GET /v1/payment_intents/{id},
POST /v1/payment_intents/{id}/capture (amount_to_capture, final_capture), POST
/v1/payment_intents/{id}/cancel, POST /v1/refunds. PayPal subset: POST /v1/oauth2/token, POST
/v2/checkout/orders/{id}/authorize, GET/POST /v2/payments/authorizations/{id}[/capture|/void],
POST /v2/payments/captures/{id}/refund. Both honour idempotency keys (Idempotency-Key,
PayPal-Request-Id): a repeated request gets the first answer, nothing happens twice.

Faults, set from the test: cards that decline (by number: the token is "pm_card_<number>" or a
PayPal order made with that card), the next N requests time out, the reply of the next capture
is lost (the capture happens, the connection closes without an answer). Webhooks are signed like
each provider's (Stripe-Signature HMAC-SHA256 "t=..,v1=.."; PayPal RSA-SHA256 with a certificate
served at /paypal/cert.pem) and can be handed out duplicated and out of order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DECLINED_CARDS = frozenset({"4000000000000002", "4000000000009995", "4000000000000069"})


def _key_and_cert():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payment sandbox")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


class _Handler(BaseHTTPRequestHandler):
    server_version = "PaymentSandbox/1"
    sandbox: PaymentSandbox

    def log_message(self, format, *args):  # quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        sb = self.sandbox
        body = self._body()
        path = urlparse(self.path).path
        if sb._take_timeout():
            time.sleep(sb.timeout_seconds)
            self.close_connection = True
            return
        key = self.headers.get("Idempotency-Key") or self.headers.get("PayPal-Request-Id") or ""
        if method == "POST" and key:
            with sb.lock:
                replay = sb.replies.get((path, key))
            if replay is not None:
                self._reply(*replay)
                return
        try:
            status, payload = sb._route(method, path, body, self.headers)
        except KeyError:
            status, payload = 404, {"error": {"type": "invalid_request_error", "message": "No such object"}}
        if method == "POST" and key and status < 500:
            with sb.lock:
                sb.replies[(path, key)] = (status, payload)
        if sb._take_lost_reply(path):
            self.close_connection = True  # it happened; the caller never hears so
            time.sleep(sb.timeout_seconds)
            return
        self._reply(status, payload)


class PaymentSandbox:
    def __init__(
        self,
        *,
        port: int = 0,
        stripe_webhook_secret: str = "whsec_sandbox",  # noqa: S107 (the sandbox's own)
        paypal_webhook_id: str = "WH-SANDBOX",
    ):
        self.port = port
        self.stripe_webhook_secret = stripe_webhook_secret
        self.paypal_webhook_id = paypal_webhook_id
        self.lock = threading.Lock()
        self.declined_cards = set(DECLINED_CARDS)
        self.timeout_seconds = 3.0
        self._timeouts = 0
        self._lost_capture_replies = 0
        self.replies: dict[tuple[str, str], tuple[int, object]] = {}
        self.intents: dict[str, dict] = {}
        self.pp_orders: dict[str, dict] = {}
        self.pp_auths: dict[str, dict] = {}
        self.pp_captures: dict[str, dict] = {}
        self.captures: list[tuple[str, str, int | str]] = []  # (provider, ref, amount) as done
        self.events: list[dict] = []  # webhook events in creation order
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._pp_key = None
        self._pp_cert = b""

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> PaymentSandbox:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- faults -------------------------------------------------------------------------------
    def time_out_next(self, n: int = 1) -> None:
        with self.lock:
            self._timeouts += n

    def lose_next_capture_reply(self, n: int = 1) -> None:
        with self.lock:
            self._lost_capture_replies += n

    def _take_timeout(self) -> bool:
        with self.lock:
            if self._timeouts:
                self._timeouts -= 1
                return True
        return False

    def _take_lost_reply(self, path: str) -> bool:
        if not path.endswith("/capture"):
            return False
        with self.lock:
            if self._lost_capture_replies:
                self._lost_capture_replies -= 1
                return True
        return False

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    # --- PayPal: the storefront side (the buyer approved an order) ----------------------------
    def paypal_approved_order(self, *, amount: str, currency: str, card: str = "4111111111111111") -> str:
        order_id = self._id("PPORDER").replace("_", "")
        with self.lock:
            self.pp_orders[order_id] = {
                "amount": amount,
                "currency": currency,
                "card": card,
                "status": "APPROVED",
            }
        return order_id

    # --- routing ------------------------------------------------------------------------------
    def _route(self, method: str, path: str, body: bytes, headers) -> tuple[int, object]:
        parts = [p for p in path.split("/") if p]
        if path == "/paypal/cert.pem":
            self._paypal_keys()
            return 200, self._pp_cert
        if parts[:1] == ["v1"] and parts[1:2] in (["payment_intents"], ["refunds"]):
            return self._stripe(method, parts[1:], {k: v[-1] for k, v in parse_qs(body.decode()).items()})
        if parts[:2] == ["v1", "oauth2"]:
            return 200, {
                "access_token": "A21-sandbox",
                "token_type": "Bearer",
                "expires_in": 32400,
                "scope": "",
            }
        if parts[:1] == ["v2"]:
            auth = headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return 401, {"name": "AUTHENTICATION_FAILURE", "message": "no token"}
            return self._paypal(method, parts[1:], json.loads(body or b"{}"))
        raise KeyError(path)

    # --- Stripe -------------------------------------------------------------------------------
    def _intent_view(self, pi: dict) -> dict:
        return {k: v for k, v in pi.items() if not k.startswith("_")}

    def _stripe_event(self, kind: str, obj: dict) -> None:
        self.events.append(
            {
                "provider": "stripe",
                "id": self._id("evt"),
                "object": "event",
                "type": kind,
                "created": int(time.time()),
                "data": {"object": dict(obj)},
            }
        )

    def _stripe(self, method: str, parts: list[str], form: dict) -> tuple[int, object]:
        with self.lock:
            if parts == ["payment_intents"] and method == "POST":
                card = form.get("payment_method", "").removeprefix("pm_card_")
                pi = {
                    "id": self._id("pi"),
                    "object": "payment_intent",
                    "amount": int(form["amount"]),
                    "currency": form["currency"],
                    "capture_method": form.get("capture_method", "automatic"),
                    "amount_capturable": 0,
                    "amount_received": 0,
                    "status": "requires_payment_method",
                    "latest_charge": None,
                    "metadata": {},
                    "_refunded": 0,
                }
                self.intents[pi["id"]] = pi
                if card in self.declined_cards:
                    self._stripe_event("payment_intent.payment_failed", self._intent_view(pi))
                    return 402, {
                        "error": {
                            "type": "card_error",
                            "code": "card_declined",
                            "decline_code": "generic_decline",
                            "message": "Your card was declined.",
                            "payment_intent": self._intent_view(pi),
                        }
                    }
                pi.update(
                    status="requires_capture", amount_capturable=pi["amount"], latest_charge=self._id("ch")
                )
                self._stripe_event("payment_intent.amount_capturable_updated", self._intent_view(pi))
                return 200, self._intent_view(pi)
            if parts[0] == "payment_intents" and len(parts) == 2 and method == "GET":
                return 200, self._intent_view(self.intents[parts[1]])
            if parts[0] == "payment_intents" and parts[2:] == ["capture"]:
                pi = self.intents[parts[1]]
                amount = int(form.get("amount_to_capture", pi["amount_capturable"]))
                if pi["status"] != "requires_capture" or amount > pi["amount_capturable"]:
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "amount_too_large",
                            "message": "Cannot capture more than is capturable.",
                        }
                    }
                pi["amount_received"] += amount
                pi["amount_capturable"] -= amount
                final = form.get("final_capture", "true") != "false"
                if final or not pi["amount_capturable"]:
                    pi["amount_capturable"] = 0
                    pi["status"] = "succeeded"
                self.captures.append(("stripe", pi["id"], amount))
                self._stripe_event(
                    "payment_intent.succeeded" if pi["status"] == "succeeded" else "charge.captured",
                    {**self._intent_view(pi), "object": "payment_intent"},
                )
                return 200, self._intent_view(pi)
            if parts[0] == "payment_intents" and parts[2:] == ["cancel"]:
                pi = self.intents[parts[1]]
                if pi["status"] != "requires_capture":
                    return 400, {"error": {"type": "invalid_request_error", "message": "Cannot cancel."}}
                pi.update(status="canceled", amount_capturable=0)
                self._stripe_event("payment_intent.canceled", self._intent_view(pi))
                return 200, self._intent_view(pi)
            if parts == ["refunds"]:
                pi = self.intents[form["payment_intent"]]
                amount = int(form.get("amount", pi["amount_received"] - pi["_refunded"]))
                if amount > pi["amount_received"] - pi["_refunded"]:
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "charge_already_refunded",
                            "message": "Refund exceeds the captured amount.",
                        }
                    }
                pi["_refunded"] += amount
                refund = {
                    "id": self._id("re"),
                    "object": "refund",
                    "amount": amount,
                    "currency": pi["currency"],
                    "payment_intent": pi["id"],
                    "status": "succeeded",
                }
                self._stripe_event(
                    "charge.refunded",
                    {
                        "object": "charge",
                        "id": pi["latest_charge"],
                        "payment_intent": pi["id"],
                        "amount": pi["amount_received"],
                        "amount_refunded": pi["_refunded"],
                        "currency": pi["currency"],
                    },
                )
                return 200, refund
        raise KeyError(parts)

    # --- PayPal -------------------------------------------------------------------------------
    def _paypal_keys(self) -> None:
        if self._pp_key is None:
            self._pp_key, self._pp_cert = _key_and_cert()

    def _paypal_event(self, kind: str, resource: dict) -> None:
        self.events.append(
            {
                "provider": "paypal",
                "id": self._id("WH").replace("_", "-"),
                "event_type": kind,
                "create_time": datetime.now(UTC).isoformat(),
                "create_time_epoch": int(time.time()),
                "resource": resource,
            }
        )

    def _unprocessable(self, issue: str) -> tuple[int, object]:
        return 422, {
            "name": "UNPROCESSABLE_ENTITY",
            "message": "The requested action could not be performed.",
            "details": [{"issue": issue}],
        }

    def _paypal(self, method: str, parts: list[str], body: dict) -> tuple[int, object]:
        with self.lock:
            if parts[:2] == ["checkout", "orders"] and parts[3:] == ["authorize"]:
                order = self.pp_orders[parts[2]]
                if order["status"] != "APPROVED":
                    return self._unprocessable("ORDER_NOT_APPROVED")
                if order["card"] in self.declined_cards:
                    return self._unprocessable("INSTRUMENT_DECLINED")
                auth = {
                    "id": self._id("AUTH").replace("_", ""),
                    "status": "CREATED",
                    "amount": {"currency_code": order["currency"], "value": order["amount"]},
                    "_captured": Decimal(0),
                    "_captures": [],
                }
                self.pp_auths[auth["id"]] = auth
                order["status"] = "COMPLETED"
                view = self._auth_view(auth)
                self._paypal_event("PAYMENT.AUTHORIZATION.CREATED", view)
                return 201, {
                    "id": parts[2],
                    "status": "COMPLETED",
                    "intent": "AUTHORIZE",
                    "purchase_units": [{"reference_id": "default", "payments": {"authorizations": [view]}}],
                }
            if parts[:2] == ["payments", "authorizations"]:
                auth = self.pp_auths[parts[2]]
                if method == "GET":
                    return 200, self._auth_view(auth)
                if parts[3:] == ["capture"]:
                    amount = Decimal(body.get("amount", {}).get("value", auth["amount"]["value"]))
                    left = Decimal(auth["amount"]["value"]) - auth["_captured"]
                    if auth["status"] not in ("CREATED", "PARTIALLY_CAPTURED") or amount > left:
                        return self._unprocessable("CAPTURE_AMOUNT_EXCEEDS_AUTHORIZATION")
                    auth["_captured"] += amount
                    final = bool(body.get("final_capture", False)) or auth["_captured"] == Decimal(
                        auth["amount"]["value"]
                    )
                    auth["status"] = "CAPTURED" if final else "PARTIALLY_CAPTURED"
                    capture = {
                        "id": self._id("CAP").replace("_", ""),
                        "status": "COMPLETED",
                        "amount": {"currency_code": auth["amount"]["currency_code"], "value": str(amount)},
                        "final_capture": final,
                        "_refunded": Decimal(0),
                        "_auth": auth["id"],
                        "supplementary_data": {"related_ids": {"authorization_id": auth["id"]}},
                    }
                    self.pp_captures[capture["id"]] = capture
                    auth["_captures"].append(capture["id"])
                    self.captures.append(("paypal", auth["id"], str(amount)))
                    view = {k: v for k, v in capture.items() if not k.startswith("_")}
                    self._paypal_event("PAYMENT.CAPTURE.COMPLETED", view)
                    return 201, view
                if parts[3:] == ["void"]:
                    if auth["status"] != "CREATED":
                        return self._unprocessable("PREVIOUSLY_CAPTURED")
                    auth["status"] = "VOIDED"
                    self._paypal_event("PAYMENT.AUTHORIZATION.VOIDED", self._auth_view(auth))
                    return 204, b""
            if parts[:2] == ["payments", "captures"] and parts[3:] == ["refund"]:
                capture = self.pp_captures[parts[2]]
                amount = Decimal(body.get("amount", {}).get("value", capture["amount"]["value"]))
                if amount > Decimal(capture["amount"]["value"]) - capture["_refunded"]:
                    return self._unprocessable("REFUND_AMOUNT_EXCEEDED")
                capture["_refunded"] += amount
                refund = {
                    "id": self._id("REF").replace("_", ""),
                    "status": "COMPLETED",
                    "amount": {"currency_code": capture["amount"]["currency_code"], "value": str(amount)},
                }
                self._paypal_event(
                    "PAYMENT.CAPTURE.REFUNDED",
                    {
                        **refund,
                        "supplementary_data": {
                            "related_ids": {"authorization_id": capture["_auth"], "capture_id": capture["id"]}
                        },
                    },
                )
                return 201, refund
        raise KeyError(parts)

    def _auth_view(self, auth: dict) -> dict:
        return {k: v for k, v in auth.items() if not k.startswith("_")}

    # --- webhooks -----------------------------------------------------------------------------
    def sign(self, event: dict) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({k: v for k, v in event.items() if k != "provider"}).encode()
        if event["provider"] == "stripe":
            t = int(time.time())
            sig = hmac.new(
                self.stripe_webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256
            ).hexdigest()
            return body, {"Stripe-Signature": f"t={t},v1={sig}"}
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        self._paypal_keys()
        tid, ttime = self._id("TX"), datetime.now(UTC).isoformat()
        message = f"{tid}|{ttime}|{self.paypal_webhook_id}|{zlib.crc32(body)}".encode()
        sig = base64.b64encode(self._pp_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
        return body, {
            "PAYPAL-TRANSMISSION-ID": tid,
            "PAYPAL-TRANSMISSION-TIME": ttime,
            "PAYPAL-TRANSMISSION-SIG": sig,
            "PAYPAL-CERT-URL": f"{self.url}/paypal/cert.pem",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    def webhooks(self, *, provider: str | None = None, duplicate: bool = False, reverse: bool = False):
        """The signed webhook deliveries so far: (body, headers) pairs, optionally each sent twice
        and in reverse order, as providers do on retries."""
        events = [e for e in self.events if provider is None or e["provider"] == provider]
        if reverse:
            events = events[::-1]
        out = []
        for e in events:
            signed = self.sign(e)
            out.append(signed)
            if duplicate:
                out.append(signed)
        return out

    def deliver(self, url: str, **kwargs) -> list[int]:
        import urllib.request

        codes = []
        for body, headers in self.webhooks(**kwargs):
            request = urllib.request.Request(  # noqa: S310 (loopback)
                url, data=body, headers={**headers, "Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
                    codes.append(response.status)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
        return codes
