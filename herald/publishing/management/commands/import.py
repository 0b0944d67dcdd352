"""``herald import markdown FILE``: a handbook page's prose and advisories into Herald."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from herald.core.cli_support import HeraldCommand
from herald.core.errors import HeraldError
from herald.incidents.queries import access_incident_by_identifier
from herald.publishing.actions import ImportResult, do_import_markdown_page
from herald.publishing.markdown import STATUS_LABELS, WITHDRAWN_LABEL

FORMATS = ("markdown",)
PAGE_STATUS_LABELS = {**STATUS_LABELS, "withdrawn": WITHDRAWN_LABEL}


class Command(HeraldCommand):
    help = (
        "Read a security advisories page and bring Herald in line with it: the page's\n"
        "prose goes into the vendor profile, and each advisory is created and published\n"
        "with the page's date (withdrawn ones then withdrawn), inside an incident.\n"
        "Advisories Herald already has (same CVE id, else same title and date) are not\n"
        "duplicated. The whole page imports, or nothing does: an error names the line\n"
        "at fault."
    )
    epilog = (
        "examples:\n"
        "  herald import markdown security-advisories.md\n"
        "  herald import markdown page.md --incident INC-2026-0003 --as alice"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("format", choices=FORMATS, help="The page's format: markdown.")
        parser.add_argument("file", metavar="FILE", help="The page to import ('-' for stdin).")
        parser.add_argument(
            "--incident",
            metavar="ID",
            help="The open incident the advisories change in (default: one is declared for "
            "the import, naming the file, if any advisory changes).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        text = self.stdin.read() if name == "-" else _read(name)
        acting_user = self.acting_user(options)
        incident = (
            access_incident_by_identifier(options["incident"]) if options["incident"] else None
        )
        result = do_import_markdown_page(
            text,
            acting_user=acting_user,
            incident=incident,
            source_name="stdin" if name == "-" else name,
        )
        self._report(result, name)

    def _report(self, result: ImportResult, name: str) -> None:
        if not result.changed_anything:
            self.stdout.write(
                f"Nothing to change: Herald already has {name} as it is "
                f"({len(result.advisories)} advisory(ies) unchanged)."
            )
            return
        if result.incident is not None:
            how = "declared for this import" if result.incident_declared else "as given"
            self.stdout.write(
                f"Incident {result.incident.identifier} ({how}): {result.incident.title}"
            )
        for advisory in result.advisories:
            self.stdout.write(
                f"  {advisory.outcome:<9}  {advisory.identifier}  {advisory.section:<7}  "
                f"{PAGE_STATUS_LABELS[advisory.page_status]:<9}  {advisory.title}"
            )
        if result.profile_fields:
            self.stdout.write("Vendor profile updated: " + ", ".join(result.profile_fields))
        self.stdout.write(
            f"Imported {name}: {result.count('created')} created, {result.count('updated')} "
            f"updated, {result.count('unchanged')} unchanged."
        )


def _read(name: str) -> str:
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise HeraldError(f"cannot read {name}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HeraldError(f"line {line}: the page is not UTF-8 text") from None
