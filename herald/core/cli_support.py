"""What Herald's management commands share: help layout, ``--as``, errors, output.

Commands are thin: they parse options, call one action or query, and print. The
rules live in the actions; this module only turns their errors into the CLI's
contract:

- a ``ValidationError`` (bad input) prints ``error: field: message`` lines on
  stderr and exits with status 2, like a usage error;
- a ``HeraldError`` (a refused action, a conflict, something missing) prints
  ``error: message`` and exits with status 1.

Run from ``herald``, the command exits with that status itself; called through
``call_command`` (tests, other code) it raises ``CommandError`` carrying the same
``returncode``, after writing the same lines to its stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
)
from django.core.serializers.json import DjangoJSONEncoder

from herald.audit.actions import SERVICE_USERNAME, service_account
from herald.core.errors import HeraldError, ValidationError, format_validation_error
from herald.core.input_files import decode_text, read_input_file

__all__ = [
    "EXIT_INVALID",
    "EXIT_REFUSED",
    "HelpFormatter",
    "HeraldCommand",
    "add_write_options",
    "gather_errors",
    "hide_django_options",
    "option_names",
    "read_text_option",
    "resolve_acting_user",
]

EXIT_REFUSED = 1  # the action said no: conflict, wrong state, not found
EXIT_INVALID = 2  # the input is wrong: the same status argparse uses for bad usage


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with descriptions and epilogs printed as written.

    The epilogs hold example command lines; re-wrapping them would join the
    examples into one unreadable paragraph.
    """


def resolve_acting_user(username: str | None) -> AbstractBaseUser:
    """The account named by ``--as``; Herald's service account when none is named.

    Only active desk accounts are accepted: the audit trail would otherwise say
    that an outsider, or a disabled account, published an advisory. An action
    is never recorded for a free string: without ``--as`` it is the service
    account (``herald.audit.actions.service_account``), a real row.
    """
    if not username:
        return service_account()
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None or not user.is_active:
        raise ValidationError({"as": f"No active account named {username!r}."})
    if not getattr(user, "is_staff", False):
        raise ValidationError(
            {"as": f"{username} has no desk access; actions are recorded only for desk accounts."}
        )
    return user


def read_text_option(text: str | None, path: str | None, field: str, stdin: TextIO) -> str | None:
    """The value of ``--X TEXT`` or ``--X-file FILE`` (``-`` is stdin); ``None`` if neither."""
    if path is None:
        return text
    raw = read_input_file(path, stdin=stdin, field=field)
    return decode_text(raw, "standard input" if path == "-" else path, field=field)


T = TypeVar("T")


def gather_errors(errors: dict[str, list[str]], check: Callable[..., T], *args: Any) -> T | None:
    """``check(*args)``, or ``None`` with its ``ValidationError`` added to ``errors``.

    A command checks each of its inputs this way, then refuses once with every
    problem, instead of stopping at the first.
    """
    try:
        return check(*args)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
        return None


def add_write_options(parser: CommandParser | argparse.ArgumentParser) -> None:
    """``--as`` and ``--json``, which every write subcommand takes."""
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        # SUPPRESS: a value given before the subcommand (herald advisory --as bob
        # publish ...) must not be overwritten by this parser's default.
        default=argparse.SUPPRESS,
        help=f"the desk account the action is recorded for (default: {SERVICE_USERNAME})",
    )
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON"
    )


# Options every Django command takes. They still work (--traceback helps a bug
# report); they are left out of Herald's help pages, which they would double.
DJANGO_OPTIONS = frozenset(
    {"version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color",
     "skip_checks"}
)  # fmt: skip


def hide_django_options(parser: argparse.ArgumentParser) -> None:
    """Leave Django's own options out of the help (they still work).

    The ``herald`` entry point applies it to every command's help page; Herald's
    commands apply it to their parsers too, for help printed from code.
    """
    for action in parser._actions:
        if action.dest in DJANGO_OPTIONS:
            action.help = argparse.SUPPRESS


def option_names(parser: argparse.ArgumentParser, options: dict[str, Any]) -> dict[str, str]:
    """``{field: "--flag"}`` for the options of the (sub)command that ran.

    Read from the parsers themselves, so a field is named by the flag declared
    for it (``dest``), or by a flag spelt like it (``as`` -> ``--as``); a name
    with no flag (a key of a JSON file) stays as it is.
    """
    names: dict[str, str] = {}
    by_spelling: dict[str, str] = {}
    parsers = [parser]
    while parsers:
        current = parsers.pop(0)
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(options.get(action.dest) or "")
                if chosen is not None:
                    parsers.append(chosen)
                continue
            long_flags = [o for o in action.option_strings if o.startswith("--")]
            if not long_flags or action.dest in DJANGO_OPTIONS:
                continue
            # The subcommand's own option wins over the command's (--as, --json).
            names[action.dest] = long_flags[0]
            for flag in long_flags:
                by_spelling[flag[2:].replace("-", "_")] = flag
    return {**by_spelling, **names}


class HeraldCommand(BaseCommand):
    """A command with subcommands, Herald's help layout, and its error contract."""

    # Reads "-" arguments from here; tests pass a StringIO through call_command.
    stealth_options = ("stdin",)
    epilog = ""
    _exit_directly = False
    _parser: argparse.ArgumentParser | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", self.epilog or None)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        self._parser = parser
        hide_django_options(parser)
        parser.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            default=None,
            help=f"the desk account write actions are recorded for (default: {SERVICE_USERNAME})",
        )
        return parser

    def add_subcommand(
        self,
        subparsers: Any,
        name: str,
        *,
        help: str,
        epilog: str = "",
        description: str = "",
        write: bool = False,
    ) -> CommandParser:
        parser: CommandParser = subparsers.add_parser(
            name,
            help=help,
            description=description or help[:1].upper() + help[1:] + ".",
            epilog=epilog.strip("\n") or None,
            formatter_class=HelpFormatter,
        )
        if write:
            add_write_options(parser)
        else:
            parser.add_argument("--json", action="store_true", default=False, help="print JSON")
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        # From the terminal, exit with the status ourselves: Django would print
        # "CommandError: ..." in front of lines that are already formatted.
        self._exit_directly = True
        super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> str | None:
        self.stdin: TextIO = options.get("stdin") or sys.stdin
        try:
            return super().execute(*args, **options)
        except ValidationError as exc:
            names = option_names(self._parser, options) if self._parser else {}
            self.fail(format_validation_error(exc, names), EXIT_INVALID)
        except HeraldError as exc:
            self.fail([str(exc)], EXIT_REFUSED)

    def fail(self, lines: Sequence[str], returncode: int) -> NoReturn:
        for line in lines:
            self.stderr.write(f"error: {line}")
        if self._exit_directly:
            raise SystemExit(returncode)
        raise CommandError("\n".join(lines), returncode=returncode)

    def dispatch(self, options: dict[str, Any], handlers: dict[str, Callable[..., None]]) -> None:
        handlers[options["subcommand"]](**options)

    def acting_user(self, options: dict[str, Any]) -> AbstractBaseUser:
        return resolve_acting_user(options.get("as_user"))

    def write_json(self, data: Any) -> None:
        # DjangoJSONEncoder: the encoder the API renders with, for identical dates.
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder))
