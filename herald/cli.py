"""The ``herald`` command: Django's management commands, with Herald's listed first.

``herald`` alone (or ``herald help``) lists Herald's own commands with one line
each; ``herald help COMMAND`` and ``herald COMMAND --help`` give the details;
``herald help --all`` also lists Django's commands (migrate, shell, ...).
"""

from __future__ import annotations

import os
import sys

HERALD_COMMANDS = (
    ("setup", "Create the database, the vendor profile and an admin account (--demo adds data)"),
    ("serve", "Run the web server and the background worker"),
    ("worker", "Run a background worker (scheduled publications, deliveries)"),
    ("incident", "Declare, list, show and resolve incidents"),
    ("advisory", "Create, update, publish, fix, resolve, withdraw, list and show advisories"),
    ("export", "Write the public page as Markdown, or the whole public site for a static host"),
    ("import", "Read a Markdown handbook page, or OSV, CVE and CSAF documents, into advisories"),
    ("validate", "Check every published file (OSV, CSAF, CVE, security.txt); non-zero on problems"),
    ("mail", "Reports by e-mail (ingest, poll, flagged); outbox: mail kept when no SMTP is set"),
    ("customers", "Import and sync affected customers (CSV or JSON), list them"),
    ("campaign", "Outreach campaigns: show who will be told, approve, send, follow"),
    ("deliveries", "Messages to people and systems: pending, failed, dead; re-drive"),
    ("channel", "Internal channels and subscribers' webhooks: e-mail, Slack, webhook"),
    ("audit", "Verify the tamper-evident audit chain"),
    ("access-review", "List every account, role, second factor and token, flagged for review"),
)
# Commands spelt with a dash on the command line, as the handbook writes them.
ALIASES = {"access-review": "access_review"}


def _usage() -> str:
    width = max(len(name) for name, _ in HERALD_COMMANDS)
    lines = [
        "usage: herald COMMAND [options]",
        "",
        "Herald, the security advisory desk. Commands:",
        "",
        *(f"  {name:<{width}}  {text}" for name, text in HERALD_COMMANDS),
        "",
        "herald COMMAND --help      options of one command",
        "herald help --all          Django's commands too (migrate, createsuperuser, shell, ...)",
        "",
        "Settings come from the environment: HERALD_HOME (data directory, default ./var),",
        "DATABASE_URL (PostgreSQL; SQLite under HERALD_HOME when unset), HERALD_SECRET_KEY,",
        "HERALD_ALLOWED_HOSTS, HERALD_BASE_URL, HERALD_SMTP_URL (mail; unset: the local outbox).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herald.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args in (["help"], ["-h"], ["--help"]):
        print(_usage())
        return
    if args[:2] == ["help", "--all"]:
        args = ["help"]
    from django.core.management import execute_from_command_line

    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    elif args[:1] == ["help"] and len(args) > 1 and args[1] in ALIASES:
        args[1] = ALIASES[args[1]]
    execute_from_command_line(["herald", *args])


if __name__ == "__main__":
    main()
