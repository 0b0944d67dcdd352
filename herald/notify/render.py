"""What each notification says: pure functions from a snapshot to subject, text and data.

No database access here; the actions pass in the snapshot and the links.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from herald.advisories.snapshot import AdvisorySnapshot


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    data: dict[str, Any]
    link: str = ""


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join((text or "").split())[:limit]


def incident_declared(
    *,
    identifier: str,
    title: str,
    severity: str,
    declared_by: str,
    reason: str,
    auto: bool,
    link: str,
) -> Rendered:
    how = "declared automatically by Herald" if auto else f"declared by {declared_by}"
    lines = [
        f"Incident {identifier} was {how}.",
        "",
        f"Title:    {title}",
        f"Severity: {severity or 'not set'}",
    ]
    if reason:
        lines += [f"Why:      {_one_line(reason, 1000)}"]
    lines += ["", f"Incident timeline: {link}", ""]
    lines += ["You receive this as a member of a team that must know of every incident."]
    return Rendered(
        subject=_one_line(f"[Incident {severity or 'declared'}] {identifier}: {title}"),
        text="\n".join(lines),
        data={
            "event": "incident.declared",
            "incident": identifier,
            "title": title,
            "severity": severity,
            "declared_by": declared_by,
            "reason": reason,
            "automatic": auto,
            "url": link,
        },
        link=link,
    )


def advisory_revision(
    snapshot: AdvisorySnapshot, *, kind: str, number: int, summary: str, link: str
) -> Rendered:
    verb = {"published": "Published", "withdrawn": "Withdrawn"}.get(kind, "Updated")
    severity = (snapshot.severity or "").capitalize()
    lines = [
        f"{verb}: security advisory {snapshot.identifier}",
        "",
        snapshot.title,
        "",
        f"Severity: {severity or 'Not rated'}",
        f"Status:   {snapshot.status.capitalize()}",
    ]
    if snapshot.cve_ids:
        lines.append(f"CVE:      {', '.join(snapshot.cve_ids)}")
    if snapshot.products:
        lines.append(f"Products: {', '.join(snapshot.products)}")
    if kind != "published":
        lines += ["", f"What changed (revision {number}): {_one_line(summary, 1000)}"]
    if snapshot.summary:
        lines += ["", snapshot.summary]
    lines += ["", f"Read the advisory: {link}"]
    event = "advisory.published" if kind == "published" else "advisory.updated"
    return Rendered(
        subject=_one_line(
            f"[{verb}] {snapshot.identifier}: {snapshot.title}"
            + (f" ({severity})" if severity else "")
        ),
        text="\n".join(lines),
        data={
            "event": event,
            "advisory": snapshot.identifier,
            "revision": number,
            "kind": kind,
            "title": snapshot.title,
            "severity": snapshot.severity,
            "status": snapshot.status,
            "cve_ids": list(snapshot.cve_ids),
            "products": list(snapshot.products),
            "summary": summary,
            "url": link,
        },
        link=link,
    )


def campaign_default(snapshot: AdvisorySnapshot, *, vendor: str, link: str) -> tuple[str, str]:
    """The outreach e-mail's subject and text, which staff may edit before approval."""
    what = []
    if snapshot.confirmed_exposure:
        what.append("we confirmed that data was exposed")
    if snapshot.user_action_required:
        what.append("you need to take action")
    subject = f"Security advisory {snapshot.identifier}: {snapshot.title}"
    if snapshot.user_action_required:
        subject += " (action required)"
    lines = [
        "Hello,",
        "",
        f"We are contacting you about a security issue in products from {vendor} that affects "
        f"your organisation: {' and '.join(what) or 'it may affect you'}.",
        "",
        f"{snapshot.identifier}: {snapshot.title}",
        f"Severity: {(snapshot.severity or 'not rated').capitalize()}",
    ]
    if snapshot.cve_ids:
        lines.append(f"CVE: {', '.join(snapshot.cve_ids)}")
    for heading, value in (
        ("What happened", snapshot.description or snapshot.summary),
        ("Who is affected", snapshot.affected_users),
        ("What to do", snapshot.resolution),
    ):
        if value:
            lines += ["", f"{heading}:", value.strip()]
    lines += [
        "",
        f"The advisory, kept up to date: {link}",
        "",
        "Reply to this message if you have questions; it reaches our security team.",
        "",
        f"{vendor} security",
    ]
    return _one_line(subject), "\n".join(lines)
