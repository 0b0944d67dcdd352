"""The outbox's ``github`` kind: sends the rows ``herald.github.actions`` queues.

A row names an operation (``sync``, ``publish``, ``request_cve``) and the
repository link; the body is built when the row is sent, from the advisory's
record as it is then (``herald.github.mapping``), so a row retried an hour
later never sends stale text, and any row creates the repository advisory
first when GitHub has none yet (the rows of one advisory may come due in any
order after retries). GitHub's answer is kept on the link
(``actions.write_answer``).

Failures follow the outbox's contract: ``TransientError`` (5xx, 429, a rate
limit with the seconds GitHub asked for, the network, no token yet) is tried
again later; ``PermanentError`` (401, 403, 404, 422: GitHub's words kept) is
dead at once, visible on the desk and re-drivable once fixed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.dateparse import parse_datetime

from herald.advisories.models import Advisory
from herald.advisories.snapshot import snapshot_of
from herald.github import actions, client, mapping
from herald.github.models import RepositoryLink
from herald.github.queries import cves_held
from herald.notify.channels import Envelope, PermanentError, TransientError, Waiting
from herald.notify.models import Channel


class GitHubSession:
    def __init__(self) -> None:
        self._api: Any = None

    def _gh(self) -> Any:
        if self._api is None:
            self._api = client.api()
        return self._api

    def send(self, envelope: Envelope) -> str:
        data = envelope.message.data
        link = RepositoryLink.objects.select_related("advisory").filter(pk=data.get("link")).first()
        if link is None:
            raise PermanentError("the advisory is no longer linked to a GitHub repository")
        try:
            return self._run(str(data.get("op")), link)
        except client.GitHubError as exc:
            actions.write_problem(link, str(exc))
            if exc.transient:
                raise TransientError(str(exc), retry_after=exc.retry_after) from None
            raise PermanentError(str(exc)) from None

    def _run(self, op: str, link: RepositoryLink) -> str:
        advisories = self._gh().rest.security_advisories
        advisory = link.advisory
        if op == "close":
            return self._close(advisories, link)
        if op == "publish" and advisory.state != Advisory.State.PUBLISHED:
            # Withdrawn in Herald while this row waited: GitHub's stays unpublished.
            return f"{advisory.identifier} is {advisory.state} in Herald: not published on GitHub"
        snapshot = snapshot_of(advisory, with_history=False)
        version = advisory.version
        if not link.ghsa_id:
            # A lease still set here means a try died between GitHub's answer and
            # keeping it (kill -9): that try may have created it. Look before creating.
            interrupted = link.creating_since is not None
            if not actions.claim_creation(link):
                raise Waiting(
                    f"another worker is creating the advisory on {link.repository}",
                    retry_after=60,
                )
            try:
                found = (
                    self._created_by_an_interrupted_try(advisories, link, snapshot.title)
                    if interrupted
                    else None
                )
                if found is not None:
                    actions.write_answer(link, found, version=None)
                    done = f"found {link.ghsa_id} on {link.repository}, created by a try that died"
                else:
                    answer = client.call(
                        advisories.create_repository_advisory,
                        link.owner,
                        link.name,
                        data=mapping.create_body(snapshot),
                    )
            except client.GitHubError:
                actions.release_creation(link)
                raise
            if found is None:
                actions.write_answer(link, dict(answer.json()), version=version)
                done = f"created {link.ghsa_id} on {link.repository}"
                if op == "sync":
                    return done
        else:
            done = ""
        if op in ("sync", "publish"):
            if link.is_closed:
                return f"{link.ghsa_id} is {link.state} on GitHub: not changed"
            # A published repository advisory is still edited (GitHub: "Editing a
            # repository security advisory"): Herald's later revisions reach it too.
            publish = op == "publish" and link.is_draft
            answer = client.call(
                advisories.update_repository_advisory,
                link.owner,
                link.name,
                link.ghsa_id,
                data=mapping.update_body(snapshot, publish=publish),
            )
            actions.write_answer(link, dict(answer.json()), version=version)
            verb = "published" if publish else "updated"
            return ", ".join(x for x in (done, f"{verb} {link.ghsa_id}") if x)
        held = cves_held(advisory) if op == "request_cve" else []
        if held:
            # A CVE came from elsewhere (CVE Services, typed in) while the row waited.
            return f"not requested: {advisory.identifier} already has {', '.join(held)}"
        if op == "request_cve":
            client.call(
                advisories.create_repository_advisory_cve_request,
                link.owner,
                link.name,
                link.ghsa_id,
            )
            return ", ".join(x for x in (done, f"CVE requested for {link.ghsa_id}") if x)
        raise PermanentError(f"unknown GitHub operation {op!r}")

    def _created_by_an_interrupted_try(
        self, advisories: Any, link: RepositoryLink, title: str
    ) -> dict[str, Any] | None:
        """The repository's draft with this advisory's title, created since the link: what
        a try that died before keeping GitHub's answer made. None when there is none."""
        answer = client.call(
            advisories.list_repository_advisories,
            link.owner,
            link.name,
            state="draft",
            sort="created",
            direction="desc",
            per_page=100,
        )
        for item in answer.json():
            created = parse_datetime(str(item.get("created_at") or ""))
            if item.get("summary") == title[:1024] and created and created >= link.linked_at:
                return dict(item)
        return None

    def _close(self, advisories: Any, link: RepositoryLink) -> str:
        """Herald withdrew the advisory: close GitHub's draft (nothing to do if none)."""
        if not link.ghsa_id:
            return "nothing was created on GitHub: nothing to close"
        if link.is_closed:
            return f"{link.ghsa_id} is already {link.state} on GitHub"
        if not link.is_draft:
            raise PermanentError(
                f"{link.ghsa_id} is published on GitHub, and GitHub's API cannot withdraw a "
                "published repository advisory: ask GitHub to withdraw it "
                "(https://support.github.com)."
            )
        answer = client.call(
            advisories.update_repository_advisory,
            link.owner,
            link.name,
            link.ghsa_id,
            data={"state": "closed"},
        )
        actions.write_answer(link, dict(answer.json()), version=None)
        return f"closed {link.ghsa_id}"

    def close(self) -> None:
        self._api = None


class GitHubKind:
    """No channel row: the token and URL are settings; the recipient is OWNER/NAME."""

    kind: ClassVar[str] = Channel.Kind.GITHUB
    overlapping: ClassVar[bool] = False

    def recipients(self, config: dict[str, Any], key: str) -> list[tuple[str, str]]:
        return []

    def parse_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {}

    def open(self, config: dict[str, Any]) -> GitHubSession:
        return GitHubSession()
