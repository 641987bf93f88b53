"""Signed customer links, one purpose each: a `view` link opens the document, an `open` token
(the pixel in a mail) records that the mail was opened. The purpose is the signer's salt, so a
token made for one purpose is refused for another; the timestamp makes it expire after
OMS_DOCUMENT_LINK_DAYS. Nothing is stored: the signature is the proof."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

PURPOSES = ("view", "open", "unsubscribe")


class LinkRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkClaim:
    document_id: int
    recipient: str
    mail_id: int | None


def _salt(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown link purpose {purpose!r}")
    return f"documents.link.{purpose}"


def link_token(*, document_id: int, recipient: str, purpose: str, mail_id: int | None = None) -> str:
    payload = {"d": document_id, "r": recipient}
    if mail_id is not None:
        payload["m"] = mail_id
    return signing.dumps(payload, salt=_salt(purpose), compress=True)


def link_read(token: str, *, purpose: str) -> LinkClaim:
    try:
        data = signing.loads(token, salt=_salt(purpose), max_age=settings.OMS_DOCUMENT_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        raise LinkRefused("expired") from None
    except signing.BadSignature:
        raise LinkRefused("bad signature") from None
    try:
        return LinkClaim(document_id=int(data["d"]), recipient=str(data["r"]), mail_id=data.get("m"))
    except (KeyError, TypeError, ValueError):
        raise LinkRefused("malformed") from None


def fingerprint(token: str) -> str:
    """What the view log keeps of a link: enough to tell links apart, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def absolute(path: str) -> str:
    return settings.OMS_PUBLIC_BASE_URL.rstrip("/") + path


def view_url(*, document_id: int, recipient: str, mail_id: int | None = None) -> str:
    token = link_token(document_id=document_id, recipient=recipient, purpose="view", mail_id=mail_id)
    return absolute(reverse("documents-public:view", kwargs={"token": token}))


def open_url(*, document_id: int, recipient: str, mail_id: int | None = None) -> str:
    token = link_token(document_id=document_id, recipient=recipient, purpose="open", mail_id=mail_id)
    return absolute(reverse("documents-public:open", kwargs={"token": token}))


def unsubscribe_url(*, recipient: str) -> str:
    token = signing.dumps({"r": recipient}, salt=_salt("unsubscribe"), compress=True)
    return absolute(reverse("documents-public:unsubscribe", kwargs={"token": token}))


def unsubscribe_read(token: str) -> str:
    """The address an unsubscribe link was made for (it does not expire: a mail may be old)."""
    try:
        return str(signing.loads(token, salt=_salt("unsubscribe"))["r"])
    except (signing.BadSignature, KeyError, TypeError):
        raise LinkRefused("bad signature") from None
