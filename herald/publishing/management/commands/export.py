"""``herald export markdown`` (the handbook page, to a file, stdout, or a git branch) and
``herald export site DIR`` (every public file, for a static host or CDN)."""

from __future__ import annotations

import os
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from herald.core.cli_support import EXIT_INVALID, HeraldCommand
from herald.core.errors import HeraldError
from herald.incidents.models import Incident
from herald.incidents.queries import access_incident_by_identifier, open_incidents
from herald.publishing.actions import do_export_markdown_to_git, markdown_page
from herald.publishing.store.siteexport import export_site

FORMATS = ("markdown", "site")


class Command(HeraldCommand):
    help = (
        "Write the public security advisories page. FORMAT 'markdown' is the handbook\n"
        "page in the vendor's layout (front matter, sections, advisory template), with\n"
        "published and withdrawn advisories only, never a draft. FORMAT 'site' writes\n"
        "the whole public surface (pages, feeds, standard documents, security.txt)\n"
        "under DIR, with .gz and .br copies; run again, it rewrites only what changed."
    )
    epilog = (
        "examples:\n"
        "  herald export site /srv/www                  every public file under /srv/www\n"
        "  herald export markdown                       the page on stdout\n"
        "  herald export markdown --output page.md      written to page.md\n"
        "  herald export markdown --git-repo ../website \\\n"
        "      --path contents/handbook/security-advisories.md --incident INC-2026-0003\n"
        "                                               committed on a new branch\n"
        "                                               herald/INC-2026-0003-<time>,\n"
        "                                               ready to push (never pushed)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("format", choices=FORMATS, help="What to export: markdown or site.")
        parser.add_argument(
            "directory", nargs="?", metavar="DIR", help="With 'site': the directory to write."
        )
        parser.add_argument(
            "--no-compress",
            action="store_true",
            help="With 'site': write no .gz and .br copies.",
        )
        parser.add_argument(
            "--output",
            "-o",
            metavar="FILE",
            default="-",
            help="Write to FILE instead of stdout ('-', the default).",
        )
        parser.add_argument(
            "--git-repo",
            metavar="DIR",
            help="A git checkout of the vendor's website: commit the page there, on a new "
            "branch from HEAD named after the incident. Needs --path.",
        )
        parser.add_argument(
            "--path",
            metavar="FILE",
            help="With --git-repo: the page's path inside the repository.",
        )
        parser.add_argument(
            "--incident",
            metavar="ID",
            help="With --git-repo: the incident the change belongs to (default: the open "
            "incident declared most recently).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["format"] == "site":
            self._site(options)
            return
        if options["directory"]:
            self.fail(["a directory goes with 'site'; use --output FILE for markdown"],
                      EXIT_INVALID)  # fmt: skip
        if options["git_repo"]:
            self._to_git(options)
            return
        if options["path"] or options["incident"]:
            self.fail(["--path and --incident go with --git-repo DIR"], EXIT_INVALID)
        content = markdown_page()
        if options["output"] == "-":
            self.stdout.write(content, ending="")
            return
        _write_atomically(Path(options["output"]), content)
        self.stderr.write(f"Wrote {options['output']}")

    def _site(self, options: dict[str, Any]) -> None:
        if not options["directory"]:
            self.fail(["herald export site needs DIR, the directory to write"], EXIT_INVALID)
        if options["git_repo"] or options["path"] or options["output"] != "-":
            self.fail(["--output, --git-repo and --path go with markdown"], EXIT_INVALID)
        result = export_site(options["directory"], precompress=not options["no_compress"])
        self.stdout.write(
            f"{options['directory']}: {len(result.written)} written, "
            f"{len(result.removed)} removed, {result.unchanged} unchanged."
        )

    def _to_git(self, options: dict[str, Any]) -> None:
        if not options["path"]:
            self.fail(["--git-repo needs --path FILE, the page's path in the repository"],
                      EXIT_INVALID)  # fmt: skip
        if options["output"] != "-":
            self.fail(["give either --output or --git-repo, not both"], EXIT_INVALID)
        acting_user = self.acting_user(options)
        incident = _incident(options["incident"])
        done = do_export_markdown_to_git(
            repo_dir=options["git_repo"],
            rel_path=options["path"],
            incident=incident,
            acting_user=acting_user,
        )
        self.stdout.write(
            f"Committed {done.path} on branch {done.branch} ({done.commit[:12]}) in "
            f"{options['git_repo']} for {incident.identifier}.\n"
            f"Review and push it: git -C {options['git_repo']} push -u origin {done.branch}"
        )


def _incident(identifier: str | None) -> Incident:
    if identifier:
        return access_incident_by_identifier(identifier)
    incident = open_incidents().order_by("-declared_at", "-id").first()
    if incident is None:
        raise HeraldError(
            "no incident is open; changes to the page belong to an incident: declare one "
            "(herald incident declare) or name one with --incident ID"
        )
    return incident


def _write_atomically(path: Path, content: str) -> None:
    """Readers of ``path`` see the old page or the new one, never half of it."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise HeraldError(f"{directory} is not a directory")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
