"""Per-key rate limits (reports per address and per e-mail, sign-ups per address).

One counter table for every limit, so a new form gets the same behaviour: counted
before the input is validated (a flood of invalid submissions is limited too),
keyed by a hash (the table never lists anyone's address), refused past the limit
with a message saying when to try again.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from herald.core.errors import HeraldError
from herald.core.models import Throttle


class RateLimited(HeraldError):
    """Too many submissions from one address or e-mail within the hour."""


def check_rate(scope: str, key: str, limit: int, *, what: str) -> None:
    """Count one submission for ``key``; refuse past ``limit`` per clock hour.

    Counted in its own transaction, before the submission is validated, so that
    a flood of invalid submissions is limited too. The key is stored hashed: the
    table must not become a list of everyone's addresses.
    """
    if not key or limit <= 0:
        return
    now = timezone.now()
    window = now.replace(minute=0, second=0, microsecond=0)
    digest = hashlib.sha256(f"{scope}:{key.strip().lower()}".encode()).hexdigest()
    with transaction.atomic():
        try:
            with transaction.atomic():
                Throttle.objects.get_or_create(scope=scope, key=digest, window_start=window)
        except IntegrityError:
            pass  # created by a concurrent submission; the update below counts us
        counted = Throttle.objects.filter(
            scope=scope, key=digest, window_start=window, count__lt=limit
        ).update(count=F("count") + 1)
    if not counted:
        minutes = 60 - now.minute
        raise RateLimited(
            f"Too many {what} in the last hour. Please try again in {minutes} minutes, "
            "or write to the security address if it is urgent."
        )


def purge_throttles(older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    deleted, _ = Throttle.objects.filter(window_start__lt=timezone.now() - older_than).delete()
    return deleted
