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
from herald.publication.actions import do_publish_advisory

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
