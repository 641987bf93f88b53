from __future__ import annotations

from celery import shared_task

from . import mail


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def mail_send(mail_id: int) -> None:
    mail.mail_send(mail_id=mail_id)


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def mail_sweep() -> int:
    """Periodic: send the mails that are due (queued without a kick, kick lost, backoff over),
    then render the drafts that wait for their first rendering. Returns the mails tried."""
    from .services import document_render_pending, render_due_ids

    ids = mail.mail_due_ids()
    for mail_id in ids:
        mail.mail_send(mail_id=mail_id)
    for document_id in render_due_ids():
        document_render_pending(document_id=document_id)
    return len(ids)


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def documents_purge() -> int:
    """Periodic: remove the files of documents whose retention ended (the rows and logs stay)."""
    from .services import documents_purge as purge

    return purge()


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def document_render(document_id: int) -> None:
    from .services import document_render_pending

    document_render_pending(document_id=document_id)
