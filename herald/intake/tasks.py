"""Background work of the intake, run by ``herald worker`` (or inside ``herald serve``)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_report_mail(message_pk: int) -> str:
    """Kept for tasks queued before reporter mail moved to the outbox: sends nothing.

    The data migration turned every owed e-mail into a ``Delivery`` row, which
    notify's worker sends; this only wakes it.
    """
    from herald.notify.tasks import kick

    kick()
    return "moved to the outbox"


@task()
def remind_disclosure_deadline(report_pk: int, deadline: str, days_before: int) -> str:
    """Tell the desk a disclosure deadline is ``days_before`` days away, if it still is."""
    from herald.intake.actions import do_remind_deadline

    return do_remind_deadline(report_pk, deadline, days_before)
