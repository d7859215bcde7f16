"""Periodic housekeeping for accounts, and the account emails (invitations, password resets)."""

import logging
import smtplib
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts.account_tokens import (
    account_token_send,
    account_token_unsend,
    account_tokens_unsent,
    password_reset_issue,
)
from apps.accounts.emails import account_email
from apps.accounts.models import Patient
from backend.audit import audit_record

log = logging.getLogger(__name__)


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> dict[str, int]:
    """Delete refresh tokens (and their blacklist entries) past expiry: they can no longer be used anyway.
    Idempotent; safe to run twice."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return {"expired_tokens_deleted": deleted}


# --- her own account (issue 17 part 6) ---------------------------------------------------------------------------
@shared_task(
    name="accounts.send_account_email",
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    max_retries=6,
)
def send_account_email(row_id: str) -> bool:
    """Make the secrets of an invitation or reset, store their hashes, and email them: once per row (a second run
    finds it sent, or no longer live, and does nothing). A mail server that fails is tried again, with backoff; after
    that the row shows as not sent (`sent_at` null) and staff can resend."""
    made = account_token_send(row_id)
    if made is None:
        return False
    try:
        account_email(*made).send()
    except Exception:
        account_token_unsend(row_id)
        raise
    return True


@shared_task(name="accounts.password_reset_send")
def password_reset_send(email: str) -> bool:
    """A reset request, answered here rather than in the request: whether the email has an active account changes
    nothing in the request's work or timing. An unknown or inactive email writes and sends nothing."""
    row = password_reset_issue(email)
    if row is None:
        return False
    patient_id = Patient.objects.filter(user_id=row.user_id).values_list("id", flat=True).first()
    # Asked by someone not signed in: no actor; the account is the object.
    audit_record(
        actor=None, action="create", resource="password_reset", patient_ids=[patient_id], object_id=row.user_id
    )
    return send_account_email(str(row.pk))


@shared_task(name="accounts.send_unsent_account_emails")
def send_unsent_account_emails() -> dict[str, int]:
    """The sweep behind every account email: rows still unsent 2 minutes after they were made (a message lost with
    the broker, a mail server that kept failing) are sent now. Each row is claimed, so a queued copy sends nothing."""
    sent = failed = 0
    for row_id in account_tokens_unsent(older_than=timedelta(minutes=2)):
        try:
            sent += send_account_email.run(str(row_id))
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            log.warning("account email %s not sent: %s", row_id, exc)
    return {"sent": sent, "failed": failed}


def enqueue_after_commit(task: Task, *args: Any) -> None:
    """Queue `task` once the transaction commits (never if it rolls back: no email for an enrolment that failed).
    With the broker unreachable it runs here instead: the email matters more than the request's speed."""

    def enqueue() -> None:
        try:
            task.delay(*args)
        except Exception:  # kombu's connection errors vary by transport
            log.warning("broker unreachable: %s runs in the request", task.name)
            task.apply(args=args)

    transaction.on_commit(enqueue)
