"""Background work of publication, run by ``herald worker`` (or inside ``herald serve``)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django_tasks import task

from herald.advisories.models import Advisory
from herald.advisories.rules import check_no_blockers, publish_blockers
from herald.audit.actions import service_account
from herald.core.errors import HeraldError, ValidationError
from herald.github.actions import link_of
from herald.publication.actions import do_publish_advisory, do_take_github_cve

logger = logging.getLogger(__name__)


@task()
def publish_scheduled(advisory_id: int, at: str) -> str:
    """Publish an advisory whose embargo ended, if it is still scheduled for ``at``.

    A schedule that was changed or cancelled since leaves a stale task behind;
    comparing ``at`` makes it do nothing instead of publishing early. What blocks
    a publication nobody watches is asked again now (the advisory may have changed
    since it was scheduled), then it is published like any other.
    """
    advisory = Advisory.objects.filter(pk=advisory_id).first()
    when = dt.datetime.fromisoformat(at)
    if advisory is None or advisory.state != Advisory.State.DRAFT:
        return "not a draft any more"
    if advisory.scheduled_publish_at != when:
        return "rescheduled"
    now = timezone.now()
    if when > now:
        return "too early"
    try:
        check_no_blockers(publish_blockers(advisory, at=now, unattended=True))
        do_publish_advisory(
            advisory,
            # The worker acts as Herald's service account; who set the schedule is
            # on the advisory (scheduled_by) and in the audit event that set it.
            acting_user=service_account(),
        )
    except (HeraldError, ValidationError) as exc:
        logger.error("Scheduled publication of %s failed: %s", advisory.identifier, exc)
        raise
    return "published"


# GitHub's CNA answers a CVE request in hours or days (a person reviews it). The
# worker looks 10 minutes after the request, then twice as long after each look, at
# most every 6 hours, for about two weeks; "Ask GitHub now" on the desk looks at once.
GITHUB_CVE_FIRST_LOOK = dt.timedelta(minutes=10)
GITHUB_CVE_LONGEST_WAIT = dt.timedelta(hours=6)
GITHUB_CVE_LOOKS = 64


def next_github_cve_look(attempt: int) -> dt.timedelta:
    """The wait before look ``attempt + 1``."""
    return min(GITHUB_CVE_FIRST_LOOK * 2 ** min(attempt, 16), GITHUB_CVE_LONGEST_WAIT)


@task()
def take_github_cve(advisory_id: int, attempt: int) -> str:
    """Ask GitHub whether its CNA assigned the requested CVE; take it when it has
    (``do_take_github_cve``: a revision when the advisory is public), else look again
    later. GitHub down or slow is one more look later, never a lost request."""
    advisory = Advisory.objects.filter(pk=advisory_id).first()
    link = None if advisory is None else link_of(advisory)
    if advisory is None or link is None:
        return "no longer linked to GitHub"
    try:
        _, cve = do_take_github_cve(advisory, acting_user=service_account())
    except HeraldError as exc:
        cve, why = "", str(exc)
    else:
        why = "no CVE assigned yet"
    if cve:
        return f"took {cve}"
    link.refresh_from_db()
    if link.cve_id:
        return f"{link.cve_id} is already in the advisory"
    if attempt >= GITHUB_CVE_LOOKS:
        logger.warning(
            "GitHub assigned no CVE to %s after %s looks; ask GitHub now from the desk",
            advisory.identifier,
            attempt,
        )
        return f"gave up after {attempt} looks: {why}"
    wait = next_github_cve_look(attempt)
    take_github_cve.using(run_after=timezone.now() + wait).enqueue(advisory_id, attempt + 1)
    return f"{why}; looking again in {wait}"


def next_github_cve_look_at(advisory: Advisory) -> dt.datetime | None:
    """When the worker next asks GitHub for ``advisory``'s requested CVE; None when no
    look is queued (none requested, taken already, or given up)."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=take_github_cve.module_path, status=TaskResultStatus.READY
    ).order_by("run_after")
    for row in waiting.only("args_kwargs", "run_after"):
        if (row.args_kwargs.get("args") or [None])[0] == advisory.pk:
            return row.run_after
    return None
