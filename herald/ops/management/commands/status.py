"""``herald status``: the readiness checks of ``/readyz``, for a person (or ``--json``)."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

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
        if not result.ready:
            raise SystemExit(1)
