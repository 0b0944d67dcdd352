"""The e-mail a reporter receives: addresses, threading headers and text. Pure composition.

Every message to a reporter carries the report's secret reply token twice, so
that an answer finds its report whatever the reporter's mail program keeps: in
the Reply-To address (``security+r-TOKEN@vendor``, plus addressing) and in the
Message-ID, which replies quote in In-Reply-To and References. The subject
carries the public tracking id for people, not for matching.
"""

from __future__ import annotations

from django.core.mail import EmailMessage

from herald.core.mail import mail_from
from herald.core.models import VendorProfile
from herald.intake.conf import base_url, text_setting
from herald.intake.models import Report, ReportMessage


def thread_url(report: Report) -> str:
    return f"{base_url()}/security/reports/{report.token}/"


def mail_domain(profile: VendorProfile) -> str:
    return profile.security_contact.rpartition("@")[2] or "localhost"


def reply_address(report: Report, profile: VendorProfile) -> str:
    """Where the reporter's answers go; ``HERALD_INTAKE_REPLY_ADDRESS`` may use {token}."""
    template = text_setting("HERALD_INTAKE_REPLY_ADDRESS")
    if template and "{token}" in template:
        return template.replace("{token}", f"r-{report.reply_token}")
    local, _, domain = profile.security_contact.partition("@")
    return f"{local}+r-{report.reply_token}@{domain}"


def message_id(message: ReportMessage, profile: VendorProfile) -> str:
    return f"<rpt-{message.report.reply_token}.{message.pk}@{mail_domain(profile)}>"


def first_message_id(report: Report, profile: VendorProfile) -> str:
    """The thread's root id, which every later message refers to."""
    return f"<rpt-{report.reply_token}.0@{mail_domain(profile)}>"


def build_email(message: ReportMessage) -> EmailMessage:
    report = message.report
    profile = VendorProfile.get()
    link = thread_url(report)
    footer = (
        f"\n\n--\nYour report {report.tracking_id}: {link}\n"
        "Keep this link private: it shows your report and our answers. "
        "Reply to this e-mail or use the page to answer us.\n"
    )
    subject = f"[{report.tracking_id}] {report.title}"[:250]
    mail = EmailMessage(
        subject=subject,
        body=message.body + footer,
        from_email=mail_from(),
        to=[report.reporter.email],
        reply_to=[reply_address(report, profile)],
        headers={
            "Message-ID": message_id(message, profile),
            "In-Reply-To": first_message_id(report, profile),
            "References": first_message_id(report, profile),
            "X-Herald-Report": report.tracking_id,
            # RFC 3834: an automatic answer must not be answered automatically.
            "Auto-Submitted": "auto-generated" if message.via == "system" else "no",
        },
    )
    return mail
