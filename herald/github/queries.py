"""Reads of the GitHub app: an advisory's link, GitHub's last answer, pending outbox rows."""

from __future__ import annotations

from typing import Any

from herald.advisories.models import Advisory
from herald.github import client
from herald.github.models import RepositoryLink
from herald.notify.models import Delivery

# What each outbox operation does, in words (the rows' subjects, the desk, the CLI).
OPS = {
    "sync": "keep in sync",
    "publish": "publish",
    "request_cve": "request a CVE",
    "close": "close",
}
UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.FAILED)


def cves_held(advisory: Advisory) -> list[str]:
    """The CVE ids of ``advisory`` when every one of its vulnerabilities has one: then
    there is nothing to ask GitHub's CNA for (GitHub: request a CVE only if you do not
    already have one). Empty when some vulnerability, or the advisory, has none."""
    ids = list(advisory.vulnerabilities.values_list("cve_id", flat=True))
    return ids if ids and all(ids) else []


def operation_label(row: Delivery) -> str:
    """What a row does, in words: the first sync creates the advisory on GitHub."""
    op = str(row.message.data.get("op", ""))
    if op == "sync" and row.response.startswith("created "):
        return "create the draft"
    return OPS.get(op, op)


def github_status(advisory: Advisory) -> dict[str, Any]:
    """What a responder needs to see: the repository, GitHub's answer, what is pending and why."""
    link = RepositoryLink.objects.filter(advisory=advisory).first()
    if link is None:
        return {
            "advisory": advisory.identifier,
            "repository": None,
            "no_token": "" if client.configured() else client.UNCONFIGURED,
        }
    rows = Delivery.objects.filter(kind="github", idempotency_key__startswith=f"github:{link.pk}:")
    return {
        "advisory": advisory.identifier,
        "repository": link.repository,
        "ghsa_id": link.ghsa_id,
        "url": link.html_url,
        "state": link.state,
        "cve_id": link.cve_id,
        "cve_requested_at": link.cve_requested_at,
        # GitHub's CNA is asked once, and only for an advisory with a vulnerability
        # that has no CVE yet (do_request_cve refuses otherwise).
        "cve_request_offered": not link.cve_id
        and not link.cve_requested_at
        and not cves_held(advisory),
        "no_token": "" if client.configured() else client.UNCONFIGURED,
        "last_answer": link.last_answer,
        "answered_at": link.answered_at,
        "deliveries": [
            {
                "id": d.pk,
                "operation": operation_label(d),
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at if d.status in UNFINISHED else None,
                "last_error": d.last_error,
                "response": d.response,
            }
            for d in rows.select_related("message").order_by("-id")[:20]
        ],
    }


def status_text(data: dict[str, Any]) -> str:
    if not data.get("repository"):
        return f"{data['advisory']}: not linked to a GitHub repository" + (
            f". {data['no_token']}" if data.get("no_token") else ""
        )
    lines = [
        f"{data['advisory']} on {data['repository']}: "
        + (f"{data['ghsa_id']} ({data['state']})" if data["ghsa_id"] else "not created yet"),
    ]
    if data["cve_id"]:
        lines.append(f"  CVE: {data['cve_id']}")
    elif data["cve_requested_at"]:
        look = data.get("next_look_at")
        when = f"; GitHub is asked again at {look:%Y-%m-%d %H:%M} UTC" if look else ""
        lines.append(f"  CVE: requested, not assigned yet{when}")
    if data["last_answer"]:
        lines.append(f"  GitHub last said: {data['last_answer']}")
    for d in data["deliveries"]:
        line = f"  {d['operation']}: {d['status']} after {d['attempts']} attempt(s)"
        if d["next_attempt_at"]:
            line += f", next try {d['next_attempt_at']:%Y-%m-%d %H:%M:%S} UTC"
        if d["last_error"] and d["status"] != "sent":
            line += f" ({d['last_error'][:200]})"
        lines.append(line)
    return "\n".join(lines)
