"""Errors that actions raise; every interface (web, API, CLI) turns them into messages.

Validation errors are Django's ``ValidationError`` with a dict keyed by field, so
forms attach them to the field they name and the API and CLI print ``field: message``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

__all__ = ["ConflictError", "HeraldError", "ValidationError", "format_validation_error"]


class HeraldError(Exception):
    """A refused action with a message meant for the person who asked."""


class ConflictError(HeraldError):
    """Someone else saved the same record since the caller read it."""


def format_validation_error(exc: ValidationError) -> list[str]:
    """``["field: message", ...]`` for printing."""
    if hasattr(exc, "error_dict"):
        return [
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return list(exc.messages)
