"""What the backup and restore commands share: Herald's error contract, without ``--as``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from herald.core.cli_support import HelpFormatter, HeraldCommand


class BackupCommand(HeraldCommand):
    """A command that acts on the whole desk, for no desk account: no ``--as`` option."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", self.epilog or None)
        return BaseCommand.create_parser(self, prog_name, subcommand, **kwargs)
