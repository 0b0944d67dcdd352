"""security.txt (RFC 9116), rendered from the vendor profile.

``Expires`` is computed from the moment of rendering, so a served file is always
in the future: nobody has to remember to renew it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EXPIRES_AFTER = dt.timedelta(days=90)  # RFC 9116 §2.5.5: "less than a year into the future"


@dataclass(frozen=True)
class SecurityTxtInput:
    base_url: str
    contact_email: str
    report_url: str = ""
    policy_url: str = ""
    encryption_url: str = ""
    acknowledgments_url: str = ""
    csaf_url: str = ""
    hiring_url: str = ""
    preferred_languages: tuple[str, ...] = ("en",)


def render_security_txt(data: SecurityTxtInput, now: dt.datetime) -> str:
    """The unsigned file; fields in the RFC's order of appearance, one per line."""
    base = data.base_url.rstrip("/")
    expires = (now + EXPIRES_AFTER).astimezone(dt.UTC).replace(microsecond=0)
    lines = [
        # ASCII only: sectxt (and PGPy behind it) refuse non-ASCII in the signed text.
        f"# Security contact for {base}/ - see RFC 9116.",
        f"Contact: mailto:{data.contact_email}",
    ]
    if data.report_url:
        lines.append(f"Contact: {data.report_url}")
    lines.append(f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%S.000Z')}")
    if data.encryption_url:
        lines.append(f"Encryption: {data.encryption_url}")
    if data.acknowledgments_url:
        lines.append(f"Acknowledgments: {data.acknowledgments_url}")
    if data.preferred_languages:
        lines.append(f"Preferred-Languages: {', '.join(data.preferred_languages)}")
    lines.append(f"Canonical: {base}/.well-known/security.txt")
    if data.policy_url:
        lines.append(f"Policy: {data.policy_url}")
    if data.hiring_url:
        lines.append(f"Hiring: {data.hiring_url}")
    if data.csaf_url:
        lines.append(f"CSAF: {data.csaf_url}")
    return "\n".join(lines) + "\n"


def parse_security_txt(text: str) -> dict[str, list[str]]:
    """Field name -> values, from a signed or unsigned file (for checks and tests)."""
    fields: dict[str, list[str]] = {}
    body = text
    if text.startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        body = text.split("\n\n", 1)[1].split("-----BEGIN PGP SIGNATURE-----", 1)[0]
    for line in body.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, value = line.split(":", 1)
        # Cleartext signing dash-escapes lines that start with "-"; none of ours do.
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return fields
