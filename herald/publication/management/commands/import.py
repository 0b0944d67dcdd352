"""``herald import markdown FILE`` and ``herald import osv|cve|csaf FILE...``.

Markdown: a handbook page's prose and advisories. OSV/GHSA, CVE JSON 5 and CSAF
2.0: published advisory documents, each becoming a published advisory.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from herald.core.cli_support import HeraldCommand, gather_errors
from herald.core.errors import HeraldError, ValidationError
from herald.core.input_files import decode_text, read_input_file
from herald.incidents.queries import access_incident_by_identifier
from herald.publication.actions import do_import_documents, do_import_markdown_page
from herald.publishing.actions import ImportResult
from herald.publishing.importers.documents import FORMATS as DOCUMENT_FORMATS
from herald.publishing.importers.import_actions import DocumentsImport
from herald.publishing.render.markdown import STATUS_LABELS, WITHDRAWN_LABEL

FORMATS = ("markdown", *DOCUMENT_FORMATS)
PAGE_STATUS_LABELS = {**STATUS_LABELS, "withdrawn": WITHDRAWN_LABEL}


class Command(HeraldCommand):
    help = (
        "Read a security advisories page and bring Herald in line with it: the page's\n"
        "prose goes into the vendor profile, and each advisory is created and published\n"
        "with the page's date (withdrawn ones then withdrawn), inside an incident.\n"
        "Advisories Herald already has (same CVE id, else same title and date) are not\n"
        "duplicated. The whole page imports, or nothing does: an error names the line\n"
        "at fault.\n"
        "\n"
        "FORMAT osv (OSV and GitHub advisories), cve (CVE JSON 5 records or CNA\n"
        "containers) or csaf (CSAF 2.0 documents) imports each FILE as a published\n"
        "advisory (withdrawn ones, and rejected CVEs, then withdrawn), with its products\n"
        "created as needed. Documents Herald already has (same CVE id, same source URL,\n"
        "else same title and day) are left alone, so importing twice changes nothing.\n"
        "Every file is validated first: all import, or none, and an error names the\n"
        "file and the field at fault."
    )
    epilog = (
        "examples:\n"
        "  herald import markdown security-advisories.md\n"
        "  herald import markdown page.md --incident INC-2026-0003 --as alice\n"
        "  herald import osv GHSA-*.json\n"
        "  herald import csaf advisories/2024/*.json --incident INC-2026-0004"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "format", choices=FORMATS, help="markdown (a page), or osv, cve, csaf (documents)."
        )
        parser.add_argument(
            "file",
            metavar="FILE",
            nargs="+",
            help="The page to import ('-' for stdin), or the documents.",
        )
        parser.add_argument(
            "--incident",
            metavar="ID",
            help="The open incident the advisories change in (default: one is declared for "
            "the import, naming the file, if any advisory changes).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["format"] != "markdown":
            self._documents(options)
            return
        if len(options["file"]) != 1:
            raise HeraldError("markdown imports one page at a time")
        name = options["file"][0]
        raw = read_input_file(name, stdin=self.stdin)
        text = decode_text(raw, "standard input" if name == "-" else name)
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

    def _documents(self, options: dict[str, Any]) -> None:
        errors: dict[str, list[str]] = {}
        files = [
            (name, gather_errors(errors, lambda n=name: read_input_file(n, field=n)) or b"")
            for name in options["file"]
        ]
        if errors:  # every unreadable file named at once
            raise ValidationError(errors)
        incident = (
            access_incident_by_identifier(options["incident"]) if options["incident"] else None
        )
        result = do_import_documents(
            files, options["format"], acting_user=self.acting_user(options), incident=incident
        )
        self._report_documents(result)

    def _report_documents(self, result: DocumentsImport) -> None:
        if result.incident is not None:
            how = "declared for this import" if result.incident_declared else "as given"
            self.stdout.write(
                f"Incident {result.incident.identifier} ({how}): {result.incident.title}"
            )
        for doc in result.documents:
            self.stdout.write(f"  {doc.outcome:<9}  {doc.identifier}  {doc.source_id}  {doc.title}")
            for note in doc.notes:
                self.stdout.write(f"             note: {note}")
        self.stdout.write(
            f"Imported {len(result.documents)} document(s): {result.count('created')} created, "
            f"{result.count('withdrawn')} withdrawn, {result.count('unchanged')} unchanged."
        )
