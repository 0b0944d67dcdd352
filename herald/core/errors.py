"""Errors that actions raise; every interface (web, API, CLI) turns them into messages.

Validation errors are Django's ``ValidationError`` with a dict keyed by field, so
forms attach them to the field they name and the API and CLI print ``field: message``.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError

__all__ = ["ConflictError", "HeraldError", "ValidationError", "format_validation_error"]


class HeraldError(Exception):
    """A refused action with a message meant for the person who asked."""


class ConflictError(HeraldError):
    """Someone else saved the same record since the caller read it."""


def format_validation_error(
    exc: ValidationError, names: Mapping[str, str] | None = None
) -> list[str]:
    """``["field: message", ...]`` for printing, each field named as ``names`` says.

    The CLI passes its option names, so an error names the flag that was typed
    (``--reported``) rather than the field behind it (``reported_at``).
    """
    names = names or {}
    if hasattr(exc, "error_dict"):
        return [
            f"{names.get(field, field)}: {message}" if field != "__all__" else message
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return list(exc.messages)
