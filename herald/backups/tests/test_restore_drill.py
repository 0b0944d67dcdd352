"""The restore drill: a demo desk backed up while it runs, restored into an empty home.

Run as an operator would, with the ``herald`` command in its own processes: after
the restore, ``herald audit verify`` and ``herald validate`` pass, the signing key
still signs (``herald setup`` renders and signs every file again), and
``herald export site`` writes byte-identical files. On SQLite, on PostgreSQL, and
from a SQLite backup into PostgreSQL (the move of a vendor outgrowing SQLite).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from conftest import require_service

HERALD = [sys.executable, "-m", "herald.cli"]
ON_POSTGRES_PASS = os.environ.get("HERALD_TEST_DB") == "postgres"


@dataclass(frozen=True)
class Desk:
    home: Path
    database_url: str | None  # None: SQLite under home

    def env(self) -> dict[str, str]:
        environ = {
            k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "HERALD_TEST_DB"}
        }
        environ["HERALD_HOME"] = str(self.home)
        environ["HERALD_WARM_PUBLISHING"] = "0"
        if self.database_url:
            environ["DATABASE_URL"] = self.database_url
        return environ

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*HERALD, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if ok:
            assert done.returncode == 0, f"herald {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done

    def export(self, directory: Path) -> Path:
        self.run("export", "site", str(directory))
        return directory


_CREATED: list[tuple[str, str]] = []  # (server, database) made by postgres_url


def postgres_url(name: str) -> str:
    """A fresh, empty database beside the test database, on the same server."""
    import psycopg

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    server = f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    database = f"{db['NAME']}_{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    _CREATED.append((server, database))
    return f"{server}/{database}"


@pytest.fixture(autouse=True)
def _drop_made_databases() -> Iterator[None]:
    """The databases a drill made are dropped after it, passed or failed."""
    yield
    import psycopg

    while _CREATED:
        server, database = _CREATED.pop()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def sqlite_backup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Desk, Path, Path]:
    """A demo desk on SQLite, its backup, and its public files as exported before."""
    desk = Desk(tmp_path_factory.mktemp("source-home"), None)
    desk.run("setup", "--demo")
    archive = tmp_path_factory.mktemp("archives") / "herald.tar.gz"
    out = desk.run("backup", str(archive)).stdout
    assert "Backup written" in out and "sqlite" in out
    return desk, archive, desk.export(tmp_path_factory.mktemp("export") / "before")


def assert_restored_whole(source_export: Path, restored: Desk, tmp_path: Path) -> None:
    verify = restored.run("audit", "verify").stdout
    assert "audit chain intact" in verify and "anchored:" in verify
    after = restored.export(tmp_path / "after")
    files = sorted(p.relative_to(source_export) for p in source_export.rglob("*") if p.is_file())
    assert files, "the export is empty"
    for name in files:
        assert (after / name).read_bytes() == (source_export / name).read_bytes(), name
    assert sorted(p.relative_to(after) for p in after.rglob("*") if p.is_file()) == files
    # The restored key signs: setup renders and signs every file again; validate then
    # checks every signature (.asc, security.txt) against the restored keys.
    assert "Database schema up to date" in restored.run("setup").stdout
    assert "0 problem(s)" in restored.run("validate").stdout


@pytest.mark.skipif(ON_POSTGRES_PASS, reason="the SQLite drill runs in the SQLite pass")
def test_restore_drill_on_sqlite(sqlite_backup: tuple[Desk, Path, Path], tmp_path: Path) -> None:
    _, archive, exported = sqlite_backup
    restored = Desk(tmp_path / "restored-home", None)
    out = restored.run("restore", str(archive)).stdout
    assert "Restored by SQLite copy" in out
    assert_restored_whole(exported, restored, tmp_path)


@pytest.mark.postgres_only
def test_a_sqlite_backup_restores_into_postgresql(
    sqlite_backup: tuple[Desk, Path, Path], tmp_path: Path
) -> None:
    require_service("postgres")
    _, archive, exported = sqlite_backup
    restored = Desk(tmp_path / "restored-home", postgres_url("drill_moved"))
    out = restored.run("restore", str(archive)).stdout
    assert "logical dump (sqlite to postgresql)" in out
    assert_restored_whole(exported, restored, tmp_path)


@pytest.mark.postgres_only
def test_restore_drill_on_postgresql(tmp_path: Path) -> None:
    require_service("postgres")
    source = Desk(tmp_path / "source-home", postgres_url("drill_source"))
    source.run("setup", "--demo")
    archive = tmp_path / "herald.tar.gz"
    assert "postgresql" in source.run("backup", str(archive)).stdout
    exported = source.export(tmp_path / "before")
    restored = Desk(tmp_path / "restored-home", postgres_url("drill_restored"))
    out = restored.run("restore", str(archive)).stdout
    assert "Restored by pg_restore" in out
    assert_restored_whole(exported, restored, tmp_path)


@pytest.mark.skipif(ON_POSTGRES_PASS, reason="runs once, in the SQLite pass")
def test_restore_refuses_a_desk_that_is_not_empty(
    sqlite_backup: tuple[Desk, Path, Path],
) -> None:
    source, archive, _ = sqlite_backup
    refused = source.run("restore", str(archive), ok=False)
    assert refused.returncode == 1
    assert "already has" in refused.stderr and "empty database" in refused.stderr
    assert "Traceback" not in refused.stderr
