"""System checks for the intake's settings (ids ``herald.E1xx``/``herald.W1xx``).

| id          | meaning                                             |
|-------------|-----------------------------------------------------|
| herald.E101 | an intake limit in the environment is not a number  |
| herald.W101 | HERALD_IMAP_HOST set without user or password       |
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from herald.intake import conf


@register(Tags.compatibility)
def check_intake_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = [
        Error(problem, hint="Use a whole number of 0 or more.", id="herald.E101")
        for problem in conf.bad_settings()
    ]
    if conf.text_setting("HERALD_IMAP_HOST") and not (
        conf.text_setting("HERALD_IMAP_USER") and conf.text_setting("HERALD_IMAP_PASSWORD")
    ):
        messages.append(
            Warning(
                "HERALD_IMAP_HOST is set but HERALD_IMAP_USER or HERALD_IMAP_PASSWORD is not",
                hint="`herald mail poll` needs all three.",
                id="herald.W101",
            )
        )
    return messages
