"""``herald access-review``: every account with its role, factors, tokens and items.

CSV (the default) or JSON on stdout, or into ``--output``. ``--flagged`` lists only
accounts that need a look (no second factor, unused for 90 days, an unused token);
``--check`` exits 1 when any is flagged, for a scheduled job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from herald.accounts import review


class Command(BaseCommand):
    help = "List every account for an access review (CSV or JSON); flag what needs a look."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", help="Write to this file instead of stdout.")
        parser.add_argument("--flagged", action="store_true", help="Only flagged accounts.")
        parser.add_argument(
            "--check", action="store_true", help="Exit with status 1 if any account is flagged."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = review.review_rows()
        if options["flagged"]:
            rows = [r for r in rows if r.flags]
        text = review.as_json(rows) if options["format"] == "json" else review.as_csv(rows)
        if options.get("output"):
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="" if text.endswith("\n") else "\n")
        if options["check"] and any(r.flags for r in rows):
            flagged = ", ".join(f"{r.username} ({' '.join(r.flags)})" for r in rows if r.flags)
            raise CommandError(f"accounts need review: {flagged}")
