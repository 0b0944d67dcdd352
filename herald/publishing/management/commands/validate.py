"""``herald validate``: re-validate every published file; non-zero exit naming each problem.

Named ``validate`` because Django's own ``check`` command (system checks) keeps
its name.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from herald.core.cli_support import EXIT_REFUSED, HeraldCommand
from herald.publishing.site.validate import validate_artifacts


class Command(HeraldCommand):
    help = (
        "Check every stored public file as a consumer would: OSV documents (the official\n"
        "OSV schema), the CSAF documents (schema rules and the CSAF 2.0 mandatory tests,\n"
        "by csaf-validator-lib too when Node.js and it are installed), their .sha256,\n"
        ".sha512 and .asc files, the CSAF provider metadata, index, changes and ROLIE\n"
        "feed, the CVE records and CNA containers, security.txt's fields, and that every\n"
        "public advisory has its documents. Prints one line per problem and exits 1 if\n"
        "there is any, 0 otherwise."
    )
    epilog = "examples:\n  herald validate\n  herald validate --json"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = validate_artifacts()
        if options["json"]:
            self.write_json(
                {"checked": report.checked, "problems": report.problems, "notes": report.notes}
            )
        else:
            for line in report.problems:
                self.stdout.write(line)
            for note in report.notes:
                self.stdout.write(f"note: {note}")
            self.stdout.write(
                f"{report.checked} file(s) checked, {len(report.problems)} problem(s)."
            )
        if report.problems:
            self.fail([f"{len(report.problems)} problem(s) in the published files"], EXIT_REFUSED)
