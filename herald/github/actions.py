"""Every write of the GitHub app: links, the outbox rows that keep GitHub in step, answers.

- ``do_link_repository``: an advisory is kept on a repository (audited); the link
  queues the creation of the repository's draft security advisory.
- ``queue_after_write``: called by the publication function (``herald.publication
  .actions._publish``) after each write of a linked advisory: a ``sync`` row
  (PATCH the draft on GitHub to the record as it then is), on its first
  publication a ``publish`` row (PATCH state=published), on its withdrawal a
  ``close`` row (PATCH state=closed, while GitHub's is not published).
- ``do_request_cve``: a ``request_cve`` row (POST .../cve), once per link.
- ``write_answer``: what GitHub answered (GHSA id, state, CVE id), written by the
  worker sending those rows (``herald.github.channel``) or by ``do_refresh``.

Every call to GitHub that changes something is an outbox row (``Delivery`` of
kind ``github``): written in the caller's transaction, sent by the worker,
retried with backoff (no sooner than GitHub's ``Retry-After`` or rate-limit
reset), dead after the last try and re-drivable, so no publication waits on
GitHub. Reads a person asks for (``do_refresh``) are made at once.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from herald.advisories.actions import Written
from herald.advisories.models import Advisory, Revision
from herald.audit.actions import actor_label, record
from herald.core.errors import HeraldError, ValidationError
from herald.github import client
from herald.github.models import RepositoryLink
from herald.github.queries import OPS, cves_held
from herald.incidents.actions import add_event
from herald.incidents.models import IncidentEvent
from herald.notify.models import Channel, Message
from herald.notify.outbox import Target, write_message
from herald.notify.render import Rendered

KIND = Channel.Kind.GITHUB
# GitHub's rules for account and repository names.
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")


def check_repository(text: str, field: str = "repository") -> tuple[str, str]:
    """``(owner, name)`` of ``OWNER/NAME``, or a ValidationError naming ``field``."""
    value = (text or "").strip().removeprefix("https://github.com/").rstrip("/")
    owner, _, name = value.partition("/")
    name = name.removesuffix(".git")
    if not _OWNER.fullmatch(owner) or not _REPO.fullmatch(name) or name in (".", ".."):
        raise ValidationError(
            {field: f"{text[:100]!r} is not a GitHub repository; give it as OWNER/NAME."}
        )
    return owner, name


def link_of(advisory: Advisory) -> RepositoryLink | None:
    return RepositoryLink.objects.filter(advisory=advisory).first()


def do_link_repository(
    advisory: Advisory, repository: str, *, acting_user: AbstractBaseUser | None
) -> RepositoryLink:
    """Keep ``advisory`` on ``repository`` (OWNER/NAME): its draft security advisory is
    created there by the worker, then kept in sync and published with it."""
    owner, name = check_repository(repository)
    if not client.configured():
        # Nothing is linked that the worker could only fail to send.
        raise HeraldError(client.UNCONFIGURED)
    who = actor_label(acting_user)
    with transaction.atomic():
        advisory = Advisory.objects.select_for_update().get(pk=advisory.pk)
        link = link_of(advisory)
        before = None
        if link is not None:
            if (link.owner, link.name) == (owner, name):
                return link
            if link.ghsa_id:
                raise HeraldError(
                    f"{advisory.identifier} is already {link.ghsa_id} on {link.repository}; "
                    "a created repository advisory cannot move to another repository."
                )
            before = {"repository": link.repository}
            link.owner, link.name = owner, name
            link.linked_at, link.linked_by = timezone.now(), who
            link.save(update_fields=["owner", "name", "linked_at", "linked_by"])
        else:
            link = RepositoryLink.objects.create(
                advisory=advisory, owner=owner, name=name, linked_at=timezone.now(), linked_by=who
            )
        record(
            acting_user=acting_user,
            action="github.link",
            obj=advisory,
            before=before,
            after={"repository": link.repository},
        )
        add_event(
            advisory.incident,
            IncidentEvent.Kind.ADVISORY,
            f"Advisory {advisory.identifier} linked to GitHub repository {link.repository}",
            actor=who,
        )
        # The draft on GitHub is created (and later kept in sync) by the worker; an
        # advisory Herald has published already is published there too.
        _queue(link, advisory, "publish" if advisory.state == Advisory.State.PUBLISHED else "sync")
    return link


def queue_after_write(written: Written) -> None:
    """The publication function's GitHub step: the linked repository follows the record.

    A first publication queues ``publish``; any other write (a draft's edit or a
    later revision) queues ``sync``. Unlinked advisories queue nothing.
    """
    link = link_of(written.advisory)
    if link is None:
        return
    revision = written.revision
    if revision is not None and revision.kind == Revision.Kind.PUBLISHED:
        _queue(link, written.advisory, "publish", revision=revision)
    elif revision is not None and revision.kind == Revision.Kind.WITHDRAWN:
        _queue(link, written.advisory, "close", revision=revision)
    else:
        _queue(link, written.advisory, "sync", revision=revision)


def do_request_cve(advisory: Advisory, *, acting_user: AbstractBaseUser | None) -> RepositoryLink:
    """Ask GitHub's CNA for a CVE for the linked repository advisory (through the outbox)."""
    link = link_of(advisory)
    if link is None:
        raise HeraldError(
            f"{advisory.identifier} is not linked to a GitHub repository; "
            "link it first (herald github link)."
        )
    if link.cve_id:
        raise HeraldError(f"GitHub already assigned {link.cve_id} to {advisory.identifier}.")
    held = cves_held(advisory)
    if held:
        raise HeraldError(
            f"{advisory.identifier} already has {', '.join(held)}: GitHub's CNA assigns a CVE "
            "only to a vulnerability that has none."
        )
    with transaction.atomic():
        RepositoryLink.objects.filter(pk=link.pk).update(cve_requested_at=timezone.now())
        link.refresh_from_db()
        record(
            acting_user=acting_user,
            action="github.request_cve",
            obj=advisory,
            after={"repository": link.repository, "ghsa_id": link.ghsa_id},
        )
        _queue(link, advisory, "request_cve")
    return link


def _queue(
    link: RepositoryLink, advisory: Advisory, op: str, *, revision: Revision | None = None
) -> None:
    """One outbox row for ``op``: keyed, so queueing the same cause twice adds nothing."""
    # A sync per version of the record; the other operations happen once.
    cause = f"v{advisory.version}" if op == "sync" else "once"
    key = f"github:{link.pk}:{op}:{cause}"
    write_message(
        source=Message.Source.GITHUB,
        key=key,
        rendered=Rendered(
            subject=f"GitHub {link.repository}: {OPS[op]} ({advisory.identifier})",
            text=f"{OPS[op].capitalize()}: the repository security advisory of "
            f"{advisory.identifier} on {link.repository}.",
            data={"op": op, "link": link.pk, "advisory": advisory.identifier},
        ),
        targets=[Target(kind=KIND, recipient=link.repository, key=key)],
        advisory=advisory,
        revision=revision,
    )


def write_answer(link: RepositoryLink, answer: dict[str, Any], *, version: int | None) -> None:
    """Keep what GitHub said of the repository advisory: GHSA id, state, CVE id, URL."""
    created = not link.ghsa_id and bool(answer.get("ghsa_id"))
    link.ghsa_id = str(answer.get("ghsa_id") or link.ghsa_id)
    link.html_url = client.web_url(answer, link.html_url)
    state = str(answer.get("state") or link.state)
    link.state = state if state in RepositoryLink.State.values else link.state
    link.cve_id = str(answer.get("cve_id") or link.cve_id)
    if version is not None:
        link.synced_version = version
    link.answered_at = timezone.now()
    link.creating_since = None
    link.last_answer = f"{link.ghsa_id} {link.state}".strip() + (
        f", {link.cve_id}" if link.cve_id else ""
    )
    with transaction.atomic():
        # Only what GitHub said: a person may have changed the rest meanwhile.
        link.save(
            update_fields=[
                "ghsa_id", "html_url", "state", "cve_id", "synced_version", "answered_at",
                "creating_since", "last_answer",
            ]
        )  # fmt: skip
        if created:
            record(
                acting_user=None,
                action="github.created",
                obj=link.advisory,
                after={"repository": link.repository, "ghsa_id": link.ghsa_id},
            )


CREATE_LEASE = dt.timedelta(minutes=5)


def claim_creation(link: RepositoryLink) -> bool:
    """Whether this worker may create the repository advisory now: one at a time, so two
    workers sending rows of one new link never create it twice. A worker that died
    while creating it lets another try after ``CREATE_LEASE``."""
    now = timezone.now()
    return bool(
        RepositoryLink.objects.filter(pk=link.pk, ghsa_id="")
        .filter(Q(creating_since__isnull=True) | Q(creating_since__lt=now - CREATE_LEASE))
        .update(creating_since=now)
    )


def release_creation(link: RepositoryLink) -> None:
    RepositoryLink.objects.filter(pk=link.pk).update(creating_since=None)


def write_problem(link: RepositoryLink, problem: str) -> None:
    RepositoryLink.objects.filter(pk=link.pk).update(
        last_answer=problem[:500], answered_at=timezone.now()
    )


def do_refresh(advisory: Advisory) -> RepositoryLink:
    """Ask GitHub now for the repository advisory (state, assigned CVE id) and keep it."""
    link = link_of(advisory)
    if link is None or not link.ghsa_id:
        raise HeraldError(
            f"{advisory.identifier} has no repository advisory on GitHub yet "
            "(link it, and let the worker create it)."
        )
    try:
        gh = client.api()
        answer = client.call(
            gh.rest.security_advisories.get_repository_advisory, link.owner, link.name, link.ghsa_id
        )
    except client.GitHubError as exc:
        raise HeraldError(str(exc)) from None
    write_answer(link, dict(answer.json()), version=None)
    return link
