"""``herald github``: keep an advisory on a GitHub repository from a terminal.

``link`` names the repository (its draft security advisory is then created,
kept in sync and published by the worker through the outbox); ``request-cve``
asks GitHub's CNA for a CVE; ``refresh`` asks GitHub now and takes an assigned
CVE id back into the advisory; ``status`` shows what GitHub last said and
what is still pending in the outbox. Settings and permissions: docs/github.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from herald.advisories.queries import access_advisory_by_identifier
from herald.core.cli_support import HeraldCommand
from herald.core.errors import HeraldError, ValidationError
from herald.github import actions as github
from herald.github import queries
from herald.github.imports import do_import_repository
from herald.github.models import HandbookPullRequest
from herald.github.pulls import do_open_handbook_pull_request, do_refresh_pull_requests
from herald.incidents.models import Incident
from herald.incidents.queries import access_incident_by_identifier, open_incidents
from herald.publication.actions import do_request_github_cve, do_take_github_cve
from herald.publication.tasks import next_github_cve_look_at

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
        handbook = self.add_subcommand(
            subparsers,
            "handbook",
            help="commit the handbook page on a branch, push it, open its pull request",
            write=True,
            epilog="example:\n  herald github handbook northwind/website --git-repo ../website "
            "\\\n      --path security/advisories.md --incident INC-2026-0003 --as bob\n",
        )
        handbook.add_argument(
            "repository",
            nargs="?",
            default="",
            metavar="OWNER/REPO",
            help="where the PR is opened (default: HERALD_HANDBOOK_REPOSITORY)",
        )
        handbook.add_argument(
            "--git-repo",
            default="",
            metavar="DIR",
            help="a git checkout of the website; its remote is pushed to "
            "(default: HERALD_HANDBOOK_GIT_REPO)",
        )
        handbook.add_argument(
            "--path",
            default="",
            metavar="FILE",
            help="the page's path inside the repository (default: HERALD_HANDBOOK_PAGE)",
        )
        handbook.add_argument(
            "--incident", metavar="ID", help="the incident it belongs to (default: the open one)"
        )
        handbook.add_argument("--remote", default="origin", help="the remote to push to")
        handbook.add_argument(
            "--base", default="", help="the PR's base branch (default: the branch checked out)"
        )
        refresh_pr = self.add_subcommand(
            subparsers,
            "handbook-refresh",
            help="read the incident's handbook pull requests again (open any not opened)",
            write=True,
        )
        refresh_pr.add_argument("incident", metavar="INCIDENT")
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
                "handbook": self.cmd_handbook,
                "handbook-refresh": self.cmd_handbook_refresh,
            },
        )

    def _show(self, advisory_id: str, options: dict[str, Any], line: str = "") -> None:
        advisory = access_advisory_by_identifier(advisory_id)
        data = {
            **queries.github_status(advisory),
            "next_look_at": next_github_cve_look_at(advisory),
        }
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
        line = f"{advisory.identifier}: linked to {link.repository}"
        self._show(advisory.identifier, options, line)

    def cmd_request_cve(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["advisory"])
        do_request_github_cve(advisory, acting_user=self.acting_user(options))
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

    def cmd_handbook(self, **options: Any) -> None:
        incident = _incident(options["incident"])
        given = {
            "repository": (options["repository"], "HERALD_HANDBOOK_REPOSITORY"),
            "git_repo": (options["git_repo"], "HERALD_HANDBOOK_GIT_REPO"),
            "path": (options["path"], "HERALD_HANDBOOK_PAGE"),
        }
        values = {k: option or getattr(settings, name) for k, (option, name) in given.items()}
        missing = {k: f"Give it, or set {name}." for k, (_, name) in given.items() if not values[k]}
        if missing:
            raise ValidationError(missing)
        pull = do_open_handbook_pull_request(
            repo_dir=values["git_repo"],
            rel_path=values["path"],
            incident=incident,
            repository=values["repository"],
            remote=options["remote"],
            base=options["base"],
            acting_user=self.acting_user(options),
        )
        self._pulls([pull], options)

    def cmd_handbook_refresh(self, **options: Any) -> None:
        incident = access_incident_by_identifier(options["incident"])
        pulls = do_refresh_pull_requests(incident, acting_user=self.acting_user(options))
        self._pulls(pulls, options)

    def _pulls(self, pulls: list[HandbookPullRequest], options: dict[str, Any]) -> None:
        if options.get("json"):
            self.write_json(
                [
                    {"incident": p.incident.identifier, "url": p.html_url, "number": p.number,
                     "state": p.shown_state, "branch": p.branch}
                    for p in pulls
                ]
            )  # fmt: skip
            return
        for p in pulls:
            self.stdout.write(
                f"{p.incident.identifier}: {p.html_url or p.branch} ({p.shown_state})"
            )
        if not pulls:
            self.stdout.write("no handbook pull request for this incident")


def _incident(identifier: str | None) -> Incident:
    if identifier:
        return access_incident_by_identifier(identifier)
    found = list(open_incidents()[:2])
    if len(found) != 1:
        raise HeraldError("Name the incident (--incident ID): " + (
            "none is open." if not found else "more than one is open."))  # fmt: skip
    return found[0]
