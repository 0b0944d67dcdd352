"""Intake's settings: each one a Django setting, else an environment variable, else a default.

The defaults make a working intake on one machine. Django settings win so that
tests (``override_settings``) and a deployment's settings module can set them;
the environment is for the embedded mode, like the rest of Herald's settings.
A value that cannot be used is reported by the ``herald.E1xx`` system checks in
``herald.intake.checks``, and the default is used meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

DEFAULTS: dict[str, int] = {
    # Abuse: how many reports one address (IP) or one e-mail may send per hour.
    "HERALD_INTAKE_RATE_PER_IP": 5,
    "HERALD_INTAKE_RATE_PER_EMAIL": 5,
    # Replies by the reporter are rarer still than reports, but a thread is a
    # conversation: a more generous limit, per report.
    "HERALD_INTAKE_RATE_PER_THREAD": 30,
    # Size limits. The body is text; a report longer than this is an attachment.
    "HERALD_INTAKE_MAX_TITLE": 300,
    "HERALD_INTAKE_MAX_BODY": 100_000,
    "HERALD_INTAKE_MAX_ATTACHMENTS": 5,
    "HERALD_INTAKE_MAX_ATTACHMENT_BYTES": 10 * 1024 * 1024,
    # A raw e-mail above this is kept whole on disk and flagged, never parsed.
    "HERALD_INTAKE_MAX_MESSAGE_BYTES": 40 * 1024 * 1024,
    # Response targets and the disclosure policy.
    "HERALD_INTAKE_FIRST_RESPONSE_HOURS": 72,
    "HERALD_INTAKE_TRIAGE_DAYS": 10,
    "HERALD_INTAKE_DISCLOSURE_DAYS": 90,
    "HERALD_INTAKE_DISCLOSURE_DAYS_EXPLOITED": 7,
    # IMAP.
    "HERALD_IMAP_PORT": 993,
    "HERALD_IMAP_TIMEOUT": 30,
    "HERALD_IMAP_RETRIES": 3,
}

# Days before a disclosure deadline when the desk is reminded.
REMINDER_DAYS = (14, 7, 1)

# Content types an attachment may have, as detected from its bytes (never as
# declared by the sender). Everything is served to staff as a download anyway.
ALLOWED_TYPES = frozenset(
    {
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/gif",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/pgp-signature",
        "application/pgp-keys",
    }
)


def setting(name: str) -> int:
    """An integer setting; a bad environment value falls back to the default (see checks)."""
    if hasattr(settings, name):
        return int(getattr(settings, name))
    raw = settings.HERALD_ENV.get(name, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            return DEFAULTS[name]
        if value >= 0:
            return value
    return DEFAULTS[name]


def max_request_bytes() -> int:
    """The largest report or reply the form or the API must take, in bytes.

    Every attachment at its largest, base64-encoded as the API sends it (the form
    sends the raw bytes, which is less), with room for its name and type; the text
    at its longest with every character JSON-escaped (6 bytes); 64 KiB for the rest.
    """
    encoded = (setting("HERALD_INTAKE_MAX_ATTACHMENT_BYTES") + 2) // 3 * 4
    attachments = setting("HERALD_INTAKE_MAX_ATTACHMENTS") * (encoded + 4096)
    return attachments + setting("HERALD_INTAKE_MAX_BODY") * 6 + 65_536


def text_setting(name: str, default: str = "") -> str:
    if hasattr(settings, name):
        return str(getattr(settings, name))
    return settings.HERALD_ENV.get(name, default).strip()


def bad_settings() -> list[str]:
    """Environment values that are not usable integers, for the system checks."""
    problems = []
    for name in DEFAULTS:
        raw = settings.HERALD_ENV.get(name, "").strip()
        if raw and not hasattr(settings, name):
            try:
                if int(raw) < 0:
                    problems.append(f"{name}={raw!r} is negative")
            except ValueError:
                problems.append(f"{name}={raw!r} is not a whole number")
    return problems


def storage_root() -> Path:
    """Where attachments and raw messages live: under HERALD_HOME, outside any web root."""
    return Path(text_setting("HERALD_INTAKE_STORAGE") or (settings.HERALD_HOME / "intake"))


def gnupg_home() -> Path:
    """The GnuPG home that holds the vendor's private key for encrypted reports."""
    return Path(text_setting("HERALD_GNUPG_HOME") or (settings.HERALD_HOME / "gnupg"))


def base_url() -> str:
    """Herald's own public address, for the reporter's private link."""
    from herald.core.baseurl import base_url

    return base_url()
