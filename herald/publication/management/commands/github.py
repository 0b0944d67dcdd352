"""``herald github``: keep an advisory on a GitHub repository from a terminal.

``link`` names the repository (its draft security advisory is then created,
kept in sync and published by the worker through the outbox); ``request-cve``
asks GitHub's CNA for a CVE; ``refresh`` asks GitHub now and takes an assigned
CVE id back into the advisory; ``status`` shows what GitHub last said and
what is still pending in the outbox. Settings and permissions: docs/github.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from herald.advisories.queries import access_advisory_by_identifier
from herald.core.cli_support import HeraldCommand
from herald.github import actions as github
from herald.github import queries
from herald.github.imports import do_import_repository
from herald.publication.actions import do_take_github_cve

EPILOG = """\
examples:
  herald github link NW-2026-DRAFT-K7Q2MX northwind/sdk --as bob
  herald github request-cve NW-2026-DRAFT-K7Q2MX --as bob
  herald github refresh NW-2026-DRAFT-K7Q2MX     # takes GitHub's CVE id back
  herald github status NW-2026-DRAFT-K7Q2MX --json
  herald github import northwind/sdk --as bob     # its advisories and reports into intake

Needs HERALD_GITHUB_TOKEN (docs/github.md lists its permissions).
"""


class Command(HeraldCommand):
    help = "Keep advisories on GitHub repositories: link, request a CVE, refresh, status."
    epilog = EPILOG

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )
        link = self.add_subcommand(
            subparsers,
            "link",
            help="keep an advisory on a repository (its draft advisory is created there)",
            write=True,
            epilog="example:\n  herald github link NW-2026-0004 northwind/sdk --as bob\n",
        )
        link.add_argument("advisory", metavar="ADVISORY", help="the advisory's identifier")
        link.add_argument("repository", metavar="OWNER/REPO", help="e.g. northwind/sdk")
        cve = self.add_subcommand(
            subparsers,
            "request-cve",
            help="ask GitHub's CNA for a CVE for the linked repository advisory",
            write=True,
        )
        cve.add_argument("advisory", metavar="ADVISORY")
        refresh = self.add_subcommand(
            subparsers,
            "refresh",
            help="ask GitHub now; take an assigned CVE id back into the advisory",
            write=True,
        )
        refresh.add_argument("advisory", metavar="ADVISORY")
        imported = self.add_subcommand(
            subparsers,
            "import",
            help="read a repository's advisories and private vulnerability reports into intake",
            write=True,
            epilog="example:\n  herald github import northwind/sdk --as bob\n\n"
            "Each GHSA id is imported once; running it again adds only new ones.\n",
        )
        imported.add_argument("repository", metavar="OWNER/REPO")
        status = self.add_subcommand(
            subparsers, "status", help="what GitHub last said, and what is pending"
        )
        status.add_argument("advisory", metavar="ADVISORY")

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(
            options,
            {
                "link": self.cmd_link,
                "request-cve": self.cmd_request_cve,
                "refresh": self.cmd_refresh,
                "status": self.cmd_status,
                "import": self.cmd_import,
            },
        )

    def _show(self, advisory_id: str, options: dict[str, Any], line: str = "") -> None:
        advisory = access_advisory_by_identifier(advisory_id)
        data = queries.github_status(advisory)
        if options.get("json"):
            self.write_json(data)
            return
        if line:
            self.stdout.write(line)
        self.stdout.write(queries.status_text(data))

    def cmd_link(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["advisory"])
        link = github.do_link_repository(
            advisory, options["repository"], acting_user=self.acting_user(options)
        )
        self._show(advisory.identifier, options, f"{advisory.identifier}: linked to {link}")

    def cmd_request_cve(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["advisory"])
        github.do_request_cve(advisory, acting_user=self.acting_user(options))
        self._show(advisory.identifier, options, "CVE request queued")

    def cmd_refresh(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["advisory"])
        advisory, cve = do_take_github_cve(advisory, acting_user=self.acting_user(options))
        line = f"{cve} taken into {advisory.identifier}" if cve else ""
        self._show(advisory.identifier, options, line)

    def cmd_status(self, **options: Any) -> None:
        self._show(options["advisory"], options)

    def cmd_import(self, **options: Any) -> None:
        result = do_import_repository(options["repository"], acting_user=self.acting_user(options))
        if options.get("json"):
            self.write_json(
                {
                    "repository": result.repository,
                    "added": [
                        {"ghsa_id": ghsa, "report": report.tracking_id}
                        for ghsa, report in result.added
                    ],
                    "already_imported": result.known,
                }
            )
            return
        for ghsa, report in result.added:
            self.stdout.write(f"{ghsa} -> report {report.tracking_id}: {report.title}")
        self.stdout.write(
            f"{result.repository}: {len(result.added)} imported, "
            f"{len(result.known)} already imported"
        )
