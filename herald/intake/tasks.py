"""Background work of the intake, run by ``herald worker`` (or inside ``herald serve``)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_report_mail(message_pk: int) -> str:
    """Send the e-mail copy of one thread message to its reporter (retried on failure)."""
    from herald.intake.actions import do_deliver_mail

    return do_deliver_mail(message_pk)


@task()
def remind_disclosure_deadline(report_pk: int, deadline: str, days_before: int) -> str:
    """Tell the desk a disclosure deadline is ``days_before`` days away, if it still is."""
    from herald.intake.actions import do_remind_deadline

    return do_remind_deadline(report_pk, deadline, days_before)
