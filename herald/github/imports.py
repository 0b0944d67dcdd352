"""A repository's security advisories and private vulnerability reports, read into intake.

``do_import_repository`` lists the repository's advisories on GitHub (every state:
published, draft, closed, and ``triage``: the private vulnerability reports
researchers sent) and makes each a report through the intake's own action
(``herald.intake.actions.do_submit_report``, source ``github``), the way the form,
the API and e-mail make theirs. The GHSA id is the source key
(``ImportedAdvisory``): importing the same repository again adds nothing.

The reporter is the advisory's GitHub author, as the address GitHub gives every
account (``ID+LOGIN@users.noreply.github.com``): nobody reads it, so the report
is not acknowledged by mail; answer the researcher on GitHub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from herald.audit.actions import actor_label, record
from herald.core.errors import HeraldError
from herald.github import client
from herald.github.actions import check_repository
from herald.github.models import ImportedAdvisory
from herald.intake.actions import do_submit_report
from herald.intake.models import Report

_NEXT = re.compile(r'<[^>]*[?&]after=([^&>]+)[^>]*>;\s*rel="next"')


@dataclass
class ImportResult:
    repository: str
    added: list[tuple[str, Report]] = field(default_factory=list)
    known: list[str] = field(default_factory=list)


def _reporter(advisory: dict[str, Any]) -> tuple[str, str]:
    """(address, login) of the advisory's author."""
    author = advisory.get("author") or {}
    login = str(author.get("login") or "")
    if login and author.get("id"):
        return f"{author['id']}+{login}@users.noreply.github.com", login
    return "noreply@github.com", login


def _body(advisory: dict[str, Any], repository: str) -> str:
    lines = [
        f"Imported from GitHub: {advisory.get('ghsa_id')} on {repository} "
        f"({advisory.get('state')}).",
        client.web_url(advisory),
    ]
    if advisory.get("cve_id"):
        lines.append(f"CVE: {advisory['cve_id']}")
    if advisory.get("severity"):
        lines.append(f"Severity on GitHub: {advisory['severity']}")
    vector = (advisory.get("cvss") or {}).get("vector_string")
    if vector:
        lines.append(f"CVSS: {vector}")
    if advisory.get("cwe_ids"):
        lines.append("CWE: " + ", ".join(str(c) for c in advisory["cwe_ids"]))
    for vuln in advisory.get("vulnerabilities") or []:
        package = vuln.get("package") or {}
        lines.append(
            f"Package: {package.get('ecosystem')}/{package.get('name') or '?'} "
            f"vulnerable {vuln.get('vulnerable_version_range') or '?'}, "
            f"patched {vuln.get('patched_versions') or 'none'}"
        )
    return "\n".join(x for x in lines if x) + "\n\n" + str(advisory.get("description") or "")


MAX_PAGES = 50


def _list_advisories(owner: str, name: str) -> list[dict[str, Any]]:
    """Every advisory of the repository, page after page (GitHub's ``after`` cursor,
    from the ``Link`` header's ``rel="next"``)."""
    gh = client.api()
    found: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        kwargs: dict[str, Any] = {"per_page": 100}
        if after:
            kwargs["after"] = after
        response = client.call(
            gh.rest.security_advisories.list_repository_advisories, owner, name, **kwargs
        )
        found.extend(dict(a) for a in response.json())
        match = _NEXT.search(response.headers.get("link", ""))
        if match is None:
            break
        after = unquote(match.group(1))
    return found


def do_import_repository(repository: str, *, acting_user: AbstractBaseUser | None) -> ImportResult:
    """Every advisory of ``repository`` (OWNER/NAME) not imported yet becomes a report."""
    owner, name = check_repository(repository)
    result = ImportResult(repository=f"{owner}/{name}")
    try:
        advisories = _list_advisories(owner, name)
    except client.GitHubError as exc:
        raise HeraldError(str(exc)) from None
    who = actor_label(acting_user)
    for advisory in advisories:
        ghsa = str(advisory.get("ghsa_id") or "")
        if not ghsa:
            continue
        if ImportedAdvisory.objects.filter(ghsa_id=ghsa).exists():
            result.known.append(ghsa)
            continue
        address, login = _reporter(advisory)
        with transaction.atomic():
            report = do_submit_report(
                source=Report.Source.GITHUB,
                email=address,
                title=str(advisory.get("summary") or ghsa),
                body=_body(advisory, result.repository),
                name=login,
                handle=login,
                strict=False,
                acknowledge=False,
                acting_user=acting_user,
                rate_limited=False,
            )
            ImportedAdvisory.objects.create(
                ghsa_id=ghsa,
                owner=owner,
                name=name,
                state=str(advisory.get("state") or "")[:16],
                html_url=client.web_url(advisory),
                report=report,
                imported_at=timezone.now(),
                imported_by=who,
            )
            record(
                acting_user=acting_user,
                action="github.import",
                obj=report,
                object_id=report.tracking_id,
                after={"ghsa_id": ghsa, "repository": result.repository},
            )
        result.added.append((ghsa, report))
    return result
