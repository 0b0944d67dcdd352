"""``herald status``: the readiness checks of ``/readyz``, for a person (or ``--json``)."""

from __future__ import annotations

import json
from collections import Counter
from importlib.metadata import version
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from herald.notify.models import Channel
from herald.notify.queries import needs_a_person
from herald.ops import health


class Command(BaseCommand):
    help = (
        "Say whether Herald is ready: database, migrations, served copy, worker. "
        "Exits 1 when a check fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="One JSON object, as /readyz.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = health.readiness()
        if options["json"]:
            self.stdout.write(json.dumps({"version": version("herald"), **result.as_dict()}))
        else:
            self.stdout.write(f"Herald {version('herald')}")
            width = max(len(check.name) for check in result.checks)
            for check in result.checks:
                mark = "ok  " if check.ok else "FAIL"
                name = check.name.replace("_", " ")
                self.stdout.write(f"  {mark} {name:<{width}}  {check.detail}")
            failing = ", ".join(result.failing)
            self.stdout.write("Ready." if result.ready else f"Not ready: {failing}")
            if result.checks[0].ok:
                self._given_up()
        if not result.ready:
            raise SystemExit(1)

    def _given_up(self) -> None:
        """Dead deliveries a person must look at: not a readiness failure (Herald still
        serves and sends), but said here so nobody has to open the desk to learn it."""
        rows = needs_a_person()
        count = rows.count()
        if not count:
            return
        kinds = dict(Channel.Kind.choices)
        by_kind = Counter(kinds.get(k, k) for k in rows.values_list("kind", flat=True))
        detail = ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items()))
        self.stdout.write(
            f"Needs a person: {count} delivery(ies) given up ({detail}). "
            "See `herald deliveries list`, fix the cause, then `herald deliveries redrive ID`."
        )
