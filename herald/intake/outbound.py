"""The e-mail a reporter receives: addresses, threading headers and text. Pure composition.

Every message to a reporter carries the report's secret reply token twice, so
that an answer finds its report whatever the reporter's mail program keeps: in
the Reply-To address (``security+r-TOKEN@vendor``, plus addressing) and in the
Message-ID, which replies quote in In-Reply-To and References. The subject
carries the public tracking id for people, not for matching.
"""

from __future__ import annotations

from dataclasses import dataclass

from herald.core.models import VendorProfile
from herald.intake.conf import base_url, text_setting
from herald.intake.models import Report, ReportMessage


def thread_url(report: Report) -> str:
    return f"{base_url()}/security/reports/{report.token}/"


@dataclass(frozen=True)
class ReporterMail:
    """What one thread message's e-mail copy says, ready for the outbox."""

    key: str
    recipient: str
    message_id: str
    subject: str
    text: str
    headers: dict[str, str]
    tracking_id: str


def compose(
    *,
    message_pk: int,
    body: str,
    system: bool,
    tracking_id: str,
    title: str,
    token: str,
    reply_token: str,
    recipient: str,
    security_contact: str,
) -> ReporterMail:
    """The e-mail copy of a thread message, from plain values (the data migration of the
    old mail queue composes with it too)."""
    domain = security_contact.rpartition("@")[2] or "localhost"
    link = f"{base_url()}/security/reports/{token}/"  # thread_url's, from plain values
    footer = (
        f"\n\n--\nYour report {tracking_id}: {link}\n"
        "Keep this link private: it shows your report and our answers. "
        "Reply to this e-mail or use the page to answer us.\n"
    )
    template = text_setting("HERALD_INTAKE_REPLY_ADDRESS")
    if template and "{token}" in template:
        reply_to = template.replace("{token}", f"r-{reply_token}")
    else:
        local, _, contact_domain = security_contact.partition("@")
        reply_to = f"{local}+r-{reply_token}@{contact_domain}"
    root = f"<rpt-{reply_token}.0@{domain}>"
    return ReporterMail(
        key=f"report-message:{message_pk}",
        recipient=recipient,
        message_id=f"<rpt-{reply_token}.{message_pk}@{domain}>",
        subject=f"[{tracking_id}] {title}"[:250],
        text=body + footer,
        headers={
            "Reply-To": reply_to,
            "In-Reply-To": root,
            "References": root,
            "X-Herald-Report": tracking_id,
            # RFC 3834: an automatic answer must not be answered automatically.
            "Auto-Submitted": "auto-generated" if system else "no",
        },
        tracking_id=tracking_id,
    )


def reporter_mail(message: ReportMessage) -> ReporterMail:
    report = message.report
    return compose(
        message_pk=message.pk,
        body=message.body,
        system=message.via == ReportMessage.Via.SYSTEM,
        tracking_id=report.tracking_id,
        title=report.title,
        token=report.token,
        reply_token=report.reply_token,
        recipient=report.reporter.email,
        security_contact=VendorProfile.get().security_contact,
    )
