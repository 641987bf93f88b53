"""An email backend for development and the demo: each message becomes one INFO log record
(logger `oms.mail`), so it reads like the rest of the log in web and worker alike, instead of
console output that Celery re-logs as `WARNING celery.redirected` line by line."""

from __future__ import annotations

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("oms.mail")


class LogEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            recipients = ", ".join(message.recipients())
            logger.info(
                "email to %s from %s: %s\n%s",
                recipients,
                message.from_email,
                message.subject,
                message.body.rstrip(),
            )
            sent += 1
        return sent
