"""System checks for Herald's configuration, with stable ids.

``herald serve`` and ``herald worker`` run them first and refuse to start on an
error, so a wrong setting is a readable message at start, not a 500 later.

| id          | meaning                                   |
|-------------|-------------------------------------------|
| herald.E001 | DATABASE_URL unusable                     |
| herald.E002 | a boolean variable that is not a boolean  |
| herald.E003 | HERALD_HOME not writable                  |
| herald.E004 | HERALD_SECRET_KEY too short               |
| herald.E005 | HERALD_SMTP_URL unusable                  |
| herald.E020 | HERALD_METRICS_ALLOW names no network     |
| herald.E021 | HERALD_TRUSTED_PROXIES unusable           |
| herald.E030 | a numeric setting that is not a number    |
| herald.E031 | HERALD_AUDIT_SYSLOG names no socket       |
| herald.W001 | DEBUG on                                  |
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from herald.core.errors import ValidationError


@register(Tags.compatibility)
def check_environment(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for check_id, message, hint in getattr(settings, "CONFIG_ERRORS", []):
        messages.append(Error(message, hint=hint, id=check_id))
    key = settings.HERALD_ENV.get("HERALD_SECRET_KEY")
    if key is not None and len(key) < 32:
        messages.append(
            Error(
                "HERALD_SECRET_KEY is shorter than 32 characters",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
                id="herald.E004",
            )
        )
    from herald.core.mail import smtp_config

    try:
        smtp_config()
    except ValidationError as exc:
        messages.append(
            Error(
                f"HERALD_SMTP_URL cannot be used: {' '.join(exc.messages)}",
                hint="Use smtp://USER:PASSWORD@HOST:PORT?starttls=1 or smtps://..., "
                "or unset it to keep mail in the local outbox.",
                id="herald.E005",
            )
        )
    if settings.DEBUG:
        messages.append(
            Warning(
                "HERALD_DEBUG is on: error pages show settings and source code",
                hint="Never turn it on for a desk that holds real embargoed advisories.",
                id="herald.W001",
            )
        )
    return messages
