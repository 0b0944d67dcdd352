"""Reads of reports. The reporter's view and the desk's view are separate functions.

``reporter_thread`` is the only way the reporter's page and API read a thread,
and it never returns an internal message; the desk reads ``desk_thread``.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone

from herald.accounts import access
from herald.core.errors import HeraldError
from herald.intake.models import Attachment, InboundMail, Mailbox, Report, ReportMessage, Reward

NOT_FOUND = "No report at this address. Check the link in your acknowledgement e-mail."


def check_staff(user: AbstractBaseUser | AnonymousUser) -> None:
    """Reports are the full desk's (``desk.work``): the role table the desk's guard asks."""
    if not access.can(user, "desk.work"):
        raise PermissionDenied


def access_report_by_token(token: str) -> Report:
    """The reporter's own report, by the secret in their link."""
    token = (token or "").strip()
    if not token or len(token) > 64:
        raise HeraldError(NOT_FOUND)
    report = (
        Report.objects.select_related("reporter", "duplicate_of", "advisory")
        .filter(token=token)
        .first()
    )
    if report is None:
        raise HeraldError(NOT_FOUND)
    return report


def reporter_thread(report: Report) -> QuerySet[ReportMessage]:
    return report.messages.filter(internal=False).order_by("created_at", "id")


def reporter_attachments(report: Report) -> QuerySet[Attachment]:
    """Names only: the files themselves are served to staff alone."""
    return report.attachments.all()


def access_report_for_staff(user: AbstractBaseUser | AnonymousUser, tracking_id: str) -> Report:
    check_staff(user)
    report = (
        Report.objects.select_related(
            "reporter", "assignee", "duplicate_of", "incident", "advisory"
        )
        .filter(tracking_id=(tracking_id or "").strip().upper())
        .first()
    )
    if report is None:
        raise HeraldError(f"No report {tracking_id[:40]!r}.")
    return report


def desk_thread(report: Report) -> QuerySet[ReportMessage]:
    return report.messages.select_related("author_user", "delivery").prefetch_related("attachments")


def desk_reports(
    *,
    state: str = "",
    overdue: bool = False,
    assignee: AbstractBaseUser | None = None,
    search: str = "",
) -> QuerySet[Report]:
    queryset = Report.objects.select_related("reporter", "assignee")
    if state == "open":
        queryset = queryset.filter(
            state__in=[Report.State.NEW, Report.State.NEEDS_MORE_INFO, Report.State.ACCEPTED]
        )
    elif state:
        queryset = queryset.filter(state=state)
    if overdue:
        queryset = overdue_reports(queryset)
    if assignee is not None:
        queryset = queryset.filter(assignee=assignee)  # type: ignore[misc]  # any user model
    if search:
        queryset = queryset.filter(
            Q(tracking_id__icontains=search)
            | Q(title__icontains=search)
            | Q(reporter__email__icontains=search)
        )
    return queryset


def overdue_reports(queryset: QuerySet[Report] | None = None) -> QuerySet[Report]:
    """Reports past their first-response or triage-decision target."""
    now = timezone.now()
    base = Report.objects.all() if queryset is None else queryset
    return base.exclude(state=Report.State.SPAM).filter(
        Q(first_responded_at__isnull=True, first_response_due__lt=now)
        | Q(triaged_at__isnull=True, triage_due__lt=now)
    )


def outstanding_rewards() -> QuerySet[Reward]:
    """Offered and not yet answered, or accepted and not yet shipped or paid."""
    return (
        Reward.objects.filter(status__in=Reward.OUTSTANDING)
        .select_related("report__reporter")
        .order_by("created_at")
    )


def flagged_mail() -> QuerySet[InboundMail]:
    return InboundMail.objects.filter(status=InboundMail.Status.FLAGGED).order_by("received_at")


def mailboxes() -> QuerySet[Mailbox]:
    return Mailbox.objects.order_by("key")


def undelivered_mail() -> QuerySet[ReportMessage]:
    """E-mail to reporters that failed for good: someone should write to them by hand."""
    return ReportMessage.objects.filter(delivery__status="dead").select_related(
        "report", "delivery"
    )


def access_attachment_for_staff(user: AbstractBaseUser | AnonymousUser, pk: int) -> Attachment:
    check_staff(user)
    attachment = Attachment.objects.select_related("report").filter(pk=pk).first()
    if attachment is None:
        raise HeraldError("No such attachment.")
    return attachment


def access_inbound_for_staff(user: AbstractBaseUser | AnonymousUser, pk: int) -> InboundMail:
    check_staff(user)
    inbound = InboundMail.objects.filter(pk=pk).first()
    if inbound is None:
        raise HeraldError("No such message.")
    return inbound
