"""A logging filter that keeps secrets out of every log line.

API tokens (``hrld_...``), bearer credentials, passwords in form-like text, and
the one-time secrets in invitation, reporter-thread and subscription links are
replaced before any handler formats the record. Installed on the root handler by
``herald.settings.LOGGING``.
"""

from __future__ import annotations

import logging
import re

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"hrld_[A-Za-z0-9_-]{4,}"), "hrld_[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",\s]+"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|token|code)\d?['\"]?\s*[:=]\s*['\"]?)[^&'\",\s]+"
        ),
        r"\1[redacted]",
    ),
    (
        re.compile(
            r"(/(?:invitation|reports|subscriptions|unsubscribe|confirm)/)[A-Za-z0-9_-]{16,}"
        ),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: leave it to logging
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Format the traceback now, so the handler prints the cleaned copy.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
