"""The ``herald`` entry point as a user meets it: from any directory, into a pipe,
with no desk or a broken database, and its help pages; and ``herald product``."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from herald.audit.models import AuditEvent
from herald.cli import HERALD_COMMANDS, main
from herald.core.models import Product
from herald.test import HeraldTestCase, HeraldTransactionTestCase

HERALD = [sys.executable, "-m", "herald.cli"]
DJANGO_OPTIONS = ("--verbosity", "--settings", "--pythonpath", "--traceback", "--no-color",
                  "--force-color", "--skip-checks")  # fmt: skip
# A user's environment: no test database, no HERALD_HOME unless a test gives one.
NOT_INHERITED = {"DATABASE_URL", "HERALD_TEST_DB", "HERALD_HOME"}


def herald_in(
    cwd: Path, *args: str, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """``herald ARGS`` run from ``cwd``, as from a terminal in another directory."""
    environ = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    environ.update(env or {})
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.run(
        [*HERALD, *args], cwd=cwd, env=environ, text=True, timeout=120, check=False, **streams
    )


def a_closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestWhereThereIsNoDesk:
    def test_a_command_says_where_it_looked_and_leaves_nothing_behind(self, tmp_path: Path) -> None:
        for args in (("incident", "list"), ("advisory", "show", "NW-2026-0001")):
            result = herald_in(tmp_path, *args)
            assert result.returncode == 1, result.stderr
            assert result.stderr == (
                f"error: no Herald desk at {tmp_path / 'var'}. To use a desk you have, run "
                "from the directory that holds its var/ (where you ran `make run`) or set "
                "HERALD_HOME to that var/ directory; to create a new desk here, run "
                "`herald setup`.\n"
            )
            assert result.stdout == ""
        assert list(tmp_path.iterdir()) == [], "a refused command left files behind"

    def test_a_sqlite_url_with_options_names_an_existing_desk(self, tmp_path: Path) -> None:
        from herald.home import missing_desk

        database = tmp_path / "desk.sqlite3"
        database.touch()
        url = f"sqlite:///{database}?transaction_mode=IMMEDIATE&timeout=20"
        with mock.patch.dict(os.environ, {"DATABASE_URL": url}):
            assert missing_desk() is None
        with mock.patch.dict(os.environ, {"DATABASE_URL": f"sqlite:///{tmp_path}/none?timeout=1"}):
            assert missing_desk() is not None

    def test_help_is_given_and_leaves_nothing_behind(self, tmp_path: Path) -> None:
        result = herald_in(tmp_path, "advisory", "--help")
        assert result.returncode == 0, result.stderr
        assert "herald advisory publish HRLD-2026-0001" in result.stdout  # the default prefix
        for option in DJANGO_OPTIONS:
            assert option not in result.stdout
        for args in (("help",), ("check",)):
            assert herald_in(tmp_path, *args).returncode == 0
        assert list(tmp_path.iterdir()) == []

    def test_a_database_without_herald_tables_is_one_line_not_a_traceback(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "herald.sqlite3").touch()
        result = herald_in(tmp_path, "incident", "list", env={"HERALD_HOME": str(tmp_path)})
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: the database {tmp_path / 'herald.sqlite3'} is "
                                        "not set up for this version of Herald")  # fmt: skip
        assert result.stderr.endswith("run `herald setup`, which creates or upgrades it.\n")
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1

    def test_an_unreachable_database_is_one_line_not_a_traceback(self, tmp_path: Path) -> None:
        url = f"postgres://postgres@127.0.0.1:{a_closed_port()}/herald_nowhere"
        # A new machine pointed at PostgreSQL has no HERALD_HOME yet: the database is
        # the desk, so what is said is about the database, not "no Herald desk".
        new_machine = str(tmp_path / "new-machine")
        result = herald_in(
            tmp_path, "advisory", "list", env={"DATABASE_URL": url, "HERALD_HOME": new_machine}
        )
        assert result.returncode == 1
        assert result.stderr.startswith("error: the database herald_nowhere cannot be used: ")
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


class HelpPages(HeraldTestCase):
    def test_no_help_page_repeats_djangos_options(self) -> None:
        for name, _ in HERALD_COMMANDS:
            out = StringIO()
            with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
                main([name, "--help"])
            assert exited.value.code == 0, name
            assert f"usage: herald {name}" in out.getvalue()
            for option in DJANGO_OPTIONS:
                assert option not in out.getvalue(), (name, option)

    def test_herald_help_command_is_the_same_page(self) -> None:
        out = StringIO()
        with contextlib.redirect_stdout(out):
            main(["help", "access-review"])
        assert out.getvalue().startswith("usage: herald access-review")
        assert "--verbosity" not in out.getvalue()


class Interrupted(HeraldTestCase):
    def test_ctrl_c_ends_a_command_without_a_traceback(self) -> None:
        class CtrlCWhileReading(StringIO):
            def read(self, size: int | None = -1) -> str:
                raise KeyboardInterrupt

        err = StringIO()
        with (
            mock.patch.object(sys, "stdin", CtrlCWhileReading()),
            contextlib.redirect_stderr(err),
            pytest.raises(SystemExit) as exited,
        ):
            main(["customers", "import", "-"])
        assert (exited.value.code, err.getvalue()) == (130, "\n")


class FromAnotherDirectory(HeraldTransactionTestCase):
    """The installed entry point, run elsewhere than the project, on the test database."""

    @pytest.fixture(autouse=True)
    def _elsewhere(self, tmp_path: Path) -> None:
        self.elsewhere = tmp_path

    def env(self) -> dict[str, str]:
        settings = connection.settings_dict
        if settings["ENGINE"].endswith("sqlite3"):
            url = f"sqlite:///{settings['NAME']}"
        else:
            url = (
                f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@"
                f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
            )
        return {"DATABASE_URL": url, "HERALD_HOME": str(django_settings.HERALD_HOME)}

    def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(self) -> None:
        incident = self.declare()
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first line: `| head -0`
        try:
            result = herald_in(self.elsewhere, "incident", "show", incident.identifier,
                               env=self.env(), stdout=write_end)  # fmt: skip
        finally:
            os.close(write_end)
        assert result.stderr == ""
        assert result.returncode == 141  # as a shell reports `cat big | head`

    def test_commands_work_from_another_directory_and_leave_nothing_there(self) -> None:
        self.declare(title="Token leak")
        result = herald_in(self.elsewhere, "incident", "list", env=self.env())
        assert result.returncode == 0, result.stderr
        assert "Token leak" in result.stdout
        assert list(self.elsewhere.iterdir()) == []


class ProductCommand(HeraldTestCase):
    def run_cli(self, *args: str) -> str:
        out, err = StringIO(), StringIO()
        call_command("product", *args, stdout=out, stderr=err)
        assert err.getvalue() == ""
        return out.getvalue()

    def test_add_then_list_shows_what_advisories_can_name(self) -> None:
        out = self.run_cli("add", "Northwind SDK", "--ecosystem", "PyPI", "--package",
                           "northwind-sdk", "--as", "alice")  # fmt: skip
        assert out == "northwind-sdk added: Northwind SDK\n"
        assert AuditEvent.objects.filter(action="product.create").get().actor == "alice"
        listed = json.loads(self.run_cli("list", "--json"))
        assert [(p["slug"], p["name"], p["package_name"]) for p in listed] == [
            ("cloud", "Northwind Cloud", ""),
            ("northwind-sdk", "Northwind SDK", "northwind-sdk"),
        ]
        text = self.run_cli("list")
        assert text.splitlines()[1].startswith("northwind-sdk  Northwind SDK  [PyPI: northwind")

    def test_add_names_every_problem_by_its_flag_and_adds_nothing(self) -> None:
        err = StringIO()
        with pytest.raises(CommandError) as refused:
            call_command("product", "add", "northwind cloud", "--slug", "cloud",
                         "--repository", "not a url", stdout=StringIO(), stderr=err)  # fmt: skip
        assert refused.value.returncode == 2
        lines = err.getvalue().splitlines()
        assert "error: name: A product is already named 'northwind cloud'." in lines, lines
        assert "error: --slug: The slug 'cloud' is taken; choose another." in lines, lines
        assert "error: --repository: Enter a valid URL." in lines, lines
        assert Product.objects.count() == 1
