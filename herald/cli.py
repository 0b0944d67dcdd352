"""The ``herald`` command: Django's management commands, with Herald's listed first.

``herald`` alone (or ``herald help``) lists Herald's own commands with one line
each; ``herald help COMMAND`` and ``herald COMMAND --help`` give the details;
``herald help --all`` also lists Django's commands (migrate, shell, ...).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from typing import NoReturn

HERALD_COMMANDS = (
    ("setup", "Create the database, the vendor profile and an admin account (--demo adds data)"),
    ("serve", "Run the web server and the background worker"),
    ("worker", "Run a background worker (scheduled publications, deliveries)"),
    ("status", "Is Herald ready? Database, migrations, served copy, worker (--json)"),
    ("incident", "Declare, list, show and resolve incidents"),
    ("advisory", "Create, update, publish, fix, resolve, withdraw, list and show advisories"),
    ("product", "List the products advisories can name as affected, and add one"),
    ("export", "Write the public page as Markdown, or the whole public site for a static host"),
    ("import", "Read a Markdown handbook page, or OSV, CVE and CSAF documents, into advisories"),
    ("github", "Keep advisories on GitHub repositories: link, request a CVE, refresh, status"),
    ("validate", "Check every published file (OSV, CSAF, CVE, security.txt); non-zero on problems"),
    ("mail", "Reports by e-mail (ingest, poll, flagged); outbox: mail kept when no SMTP is set"),
    ("customers", "Import and sync affected customers (CSV or JSON), list them"),
    ("campaign", "Outreach campaigns: show who will be told, approve, send, follow"),
    ("deliveries", "Messages to people and systems: pending, failed, dead; re-drive"),
    ("cve", "CVE Services, for a CNA: reserve ids; each record's state there (status)"),
    ("channel", "Internal channels and subscribers' webhooks: e-mail, Slack, webhook"),
    ("audit", "Verify the tamper-evident audit chain against its signed anchor"),
    ("backup", "Write one archive of the whole desk (database, keys, attachments, anchor)"),
    ("restore", "Restore a backup into an empty HERALD_HOME and database"),
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
        "herald --version           the version of Herald",
        "herald help --all          Django's commands too (migrate, createsuperuser, shell, ...)",
        "",
        "Settings come from the environment: HERALD_HOME (data directory, default ./var),",
        "DATABASE_URL (PostgreSQL; SQLite under HERALD_HOME when unset), HERALD_SECRET_KEY,",
        "HERALD_ALLOWED_HOSTS, HERALD_BASE_URL, HERALD_SMTP_URL (mail; unset: the local outbox).",
    ]
    return "\n".join(lines)


# Commands that make a desk, or only look at the configuration: they run where
# there is none yet. Every other command needs one.
MAKES_DESK = frozenset({"setup", "migrate", "restore"})
WITHOUT_DESK = MAKES_DESK | {"check", "version", "--version"}
EXIT_REFUSED = 1  # as herald.core.cli_support: the command could not do its work
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `cat big | head`
EXIT_INTERRUPTED = 130  # 128 + SIGINT, likewise


def main(argv: list[str] | None = None) -> None:
    # An exception to "only herald/settings.py reads the environment": this runs
    # before the settings load, and says which settings module to load.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herald.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args in (["help"], ["-h"], ["--help"]):
        print(_usage())
        return
    if args == ["--version"]:
        from importlib.metadata import version

        print(f"herald {version('herald')}")
        return
    if args[:2] == ["help", "--all"]:
        args = ["help"]
    if args[0] == "serve":
        # Until its own handlers are set (herald serve's stop_on_signals), Ctrl-C
        # must stop it even when its shell started it with SIGINT ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    elif args[:1] == ["help"] and len(args) > 1 and args[1] in ALIASES:
        args[1] = ALIASES[args[1]]
    try:
        _run(args)
        # Flushed here, not at exit: a closed pipe must be handled like any other.
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (herald incident show ... | head): stop quietly, as
        # cat does. Later writes, and the interpreter's last flush, go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except KeyboardInterrupt:
        # Ctrl-C: the person knows why it stopped; a traceback would tell them nothing.
        sys.stderr.write("\n")
        sys.exit(EXIT_INTERRUPTED)


def _run(args: list[str]) -> None:
    from herald.home import missing_desk

    # Called in a process whose settings are loaded (a test, an embedding program),
    # the desk is whatever they name; the database errors below still apply.
    conf = sys.modules.get("django.conf")
    home = None if conf is not None and conf.settings.configured else missing_desk()
    asks_help = args[0] == "help" or "-h" in args or "--help" in args
    if home is not None and not asks_help and args[0] not in WITHOUT_DESK:
        _refuse(
            f"no Herald desk at {home}. To use a desk you have, run from the directory "
            "that holds its var/ (where you ran `make run`) or set HERALD_HOME to that "
            "var/ directory; to create a new desk here, run `herald setup`."
        )
    if home is not None and not home.is_dir() and args[0] not in MAKES_DESK:
        # Importing the settings would create HERALD_HOME to keep a new secret
        # key; help and checks need none, so they leave no directory behind. (Set
        # before the settings load, which read it: the entry point's one other write.)
        os.environ.setdefault("HERALD_SECRET_KEY", secrets.token_urlsafe(50))

    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        if asks_help and args != ["help"]:
            _print_help(args)
            return
        execute_from_command_line(["herald", *args])
    except DatabaseError as exc:
        _refuse(_database_problem(exc))


def _print_help(args: list[str]) -> None:
    """A command's help (``herald help X``, ``herald X [SUB] --help``) without Django's options."""
    import django
    from django.core.management import ManagementUtility

    django.setup()
    from herald.core.cli_support import hide_django_options

    name = args[1] if args[0] == "help" else args[0]
    name = ALIASES.get(name, name)
    command = ManagementUtility(["herald", *args]).fetch_command(name)
    spelt = {module: typed for typed, module in ALIASES.items()}.get(name, name)
    parser = command.create_parser("herald", spelt)
    hide_django_options(parser)
    if args[0] == "help":
        parser.print_help()
        return
    parser.parse_args(args[1:])  # prints the help of the (sub)command asked, and exits


def _database_problem(exc: Exception) -> str:
    """What an unexpected database error means for the person at the terminal."""
    from django.conf import settings
    from django.db import ProgrammingError

    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    database = settings.DATABASES["default"]
    where = database.get("NAME") or "the database"
    lowered = first_line.lower()
    if "no such table" in lowered or (
        isinstance(exc, ProgrammingError) and "does not exist" in lowered
    ):
        return (
            f"the database {where} is not set up for this version of Herald ({first_line}): "
            "run `herald setup`, which creates or upgrades it."
        )
    return (
        f"the database {where} cannot be used: {first_line}. Check that it is running and "
        "that DATABASE_URL (or HERALD_HOME for the embedded SQLite) names it."
    )


def _refuse(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(EXIT_REFUSED)


if __name__ == "__main__":
    main()
