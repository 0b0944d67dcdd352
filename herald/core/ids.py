"""Identifiers that are stable forever: PREFIX-YEAR-NNNN."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.db.models import F

from herald.core.models import Sequence


def next_number(key: str) -> int:
    """The next value of counter ``key``, safe against concurrent callers.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite in
    IMMEDIATE mode) before reading, so two transactions never get one number.
    """
    with transaction.atomic():
        Sequence.objects.get_or_create(key=key)
        Sequence.objects.filter(key=key).update(value=F("value") + 1)
        return Sequence.objects.get(key=key).value


def draft_identifier(prefix: str, year: int) -> str:
    """A draft's private handle: random, so it reveals nothing about how many exist."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return f"{prefix}-{year}-DRAFT-{''.join(secrets.choice(alphabet) for _ in range(6))}"


def next_identifier(prefix: str, year: int) -> str:
    number = next_number(f"{prefix}-{year}")
    return f"{prefix}-{year}-{number:04d}"
