"""The handbook page as a pull request on GitHub.

``do_open_handbook_pull_request`` commits the page on a new branch named after the
incident (``herald.publishing.actions.do_export_markdown_to_git``, as
``herald export markdown --git-repo`` does), pushes that branch to the checkout's
remote with git, and opens the pull request (``POST /repos/{owner}/{repo}/pulls``)
with the incident named in its title and body. The pull request's link and state
are kept on the incident (``HandbookPullRequest``) and shown on its desk page;
``do_refresh_pull_requests`` reads the state again (``GET .../pulls/{number}``), and
opens the pull request of a pushed branch whose opening GitHub refused before.

The person waits for the link, so the request is made at once rather than through
the outbox; a failure keeps the pushed branch and says how to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from herald.audit.actions import actor_label, record
from herald.core.errors import HeraldError
from herald.github import client
from herald.github.actions import check_repository
from herald.github.models import HandbookPullRequest
from herald.incidents.actions import add_event
from herald.incidents.models import Incident, IncidentEvent
from herald.publishing.actions import do_export_markdown_to_git
from herald.publishing.store.gitexport import current_branch, push_branch


@dataclass(frozen=True)
class HandbookTarget:
    repo_dir: str
    rel_path: str
    repository: str


def configured_handbook() -> HandbookTarget | None:
    """Where the desk opens the handbook pull request: the three HERALD_HANDBOOK_*
    settings, or None when one is missing (the desk then offers no button)."""
    target = HandbookTarget(
        repo_dir=settings.HERALD_HANDBOOK_GIT_REPO,
        rel_path=settings.HERALD_HANDBOOK_PAGE,
        repository=settings.HERALD_HANDBOOK_REPOSITORY,
    )
    return target if target.repo_dir and target.rel_path and target.repository else None


def title_of(incident: Incident) -> str:
    return f"Security advisories: {incident.identifier} ({incident.title})"[:250]


def body_of(incident: Incident, rel_path: str) -> str:
    advisories = ", ".join(
        a.identifier for a in incident.advisories.filter(state="published").order_by("id")
    )
    return (
        f"The handbook page `{rel_path}` updated for incident **{incident.identifier}**: "
        f"{incident.title}.\n\n"
        + (f"Published advisories of the incident: {advisories}.\n\n" if advisories else "")
        + "Exported by Herald from the advisory desk; review it like any change to the page."
    )


def do_open_handbook_pull_request(
    *,
    repo_dir: str | Path,
    rel_path: str,
    incident: Incident,
    repository: str,
    acting_user: AbstractBaseUser | None,
    remote: str = "origin",
    base: str = "",
) -> HandbookPullRequest:
    """Commit the page on a branch, push it to ``remote``, open its pull request on
    ``repository`` (OWNER/NAME) against ``base`` (default: the branch checked out)."""
    owner, name = check_repository(repository)
    base = base or current_branch(repo_dir)
    if not base:
        raise HeraldError(
            f"{repo_dir} has no branch checked out; give the pull request's base (--base)."
        )
    done = do_export_markdown_to_git(
        repo_dir=repo_dir, rel_path=rel_path, incident=incident, acting_user=acting_user
    )
    push_branch(repo_dir, remote, done.branch)
    who = actor_label(acting_user)
    with transaction.atomic():
        pull = HandbookPullRequest.objects.create(
            incident=incident,
            owner=owner,
            name=name,
            branch=done.branch,
            base=base,
            created_at=timezone.now(),
            created_by=who,
        )
        record(
            acting_user=acting_user,
            action="github.handbook_push",
            obj=incident,
            after={"repository": f"{owner}/{name}", "branch": done.branch, "remote": remote},
        )
    return _open(pull, rel_path, acting_user)


def _open(
    pull: HandbookPullRequest, rel_path: str, acting_user: AbstractBaseUser | None
) -> HandbookPullRequest:
    incident = pull.incident
    try:
        gh = client.api()
        answer = client.call(
            gh.rest.pulls.create,
            pull.owner,
            pull.name,
            data={
                "title": title_of(incident),
                "head": pull.branch,
                "base": pull.base,
                "body": body_of(incident, rel_path),
            },
        )
    except client.GitHubError as exc:
        HandbookPullRequest.objects.filter(pk=pull.pk).update(
            last_answer=str(exc)[:500], refreshed_at=timezone.now()
        )
        raise HeraldError(
            f"Branch {pull.branch} is pushed, but GitHub did not open the pull request: {exc}. "
            f"Try again with: herald github handbook-refresh {incident.identifier}"
        ) from None
    with transaction.atomic():
        _keep(pull, dict(answer.json()))
        pull.opened_at = timezone.now()
        pull.save()
        add_event(
            incident,
            IncidentEvent.Kind.NOTE,
            f"Handbook page pull request opened: {pull.html_url}",
            actor=actor_label(acting_user),
        )
        record(
            acting_user=acting_user,
            action="github.handbook_pull_request",
            obj=incident,
            after={"url": pull.html_url, "number": pull.number},
        )
    return pull


def _keep(pull: HandbookPullRequest, answer: dict[str, Any]) -> None:
    pull.number = int(answer.get("number") or 0) or pull.number
    pull.html_url = client.web_url(answer, pull.html_url)
    pull.state = str(answer.get("state") or pull.state)[:16]
    pull.merged = bool(answer.get("merged")) or bool(answer.get("merged_at"))
    pull.last_answer = f"#{pull.number} {pull.shown_state}"
    pull.refreshed_at = timezone.now()


def do_refresh_pull_requests(
    incident: Incident, *, acting_user: AbstractBaseUser | None, rel_path: str = "the page"
) -> list[HandbookPullRequest]:
    """Read each of the incident's pull requests again; open those GitHub refused before."""
    pulls = list(HandbookPullRequest.objects.filter(incident=incident).order_by("id"))
    for pull in pulls:
        if pull.number is None:
            _open(pull, rel_path, acting_user)
            continue
        try:
            gh = client.api()
            answer = client.call(gh.rest.pulls.get, pull.owner, pull.name, pull.number)
        except client.GitHubError as exc:
            raise HeraldError(str(exc)) from None
        _keep(pull, dict(answer.json()))
        pull.save()
    return pulls
