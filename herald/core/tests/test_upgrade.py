"""A desk made by an earlier release upgrades to today's schema with its data intact.

The fixtures under ``fixtures/upgrade/<release>/`` are desks made by that release
(see their README). ``herald setup`` upgrades them and says which migrations it
applied; every row of the old desk is still there; the audit chain verifies.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

from conftest import require_service
from herald.backups import archive
from herald.backups.tests.test_restore_drill import (  # noqa: F401  (the fixture drops made databases)
    ON_POSTGRES_PASS,
    Desk,
    _drop_made_databases,
    postgres_url,
)

FIXTURES = Path(__file__).parent / "fixtures" / "upgrade"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def old_desk(release: str, home: Path, database_url: str | None = None) -> Desk:
    """The release's SQLite desk with its signing key, in ``home``."""
    source = FIXTURES / release
    home.mkdir(parents=True)
    with (
        gzip.open(source / "herald.sqlite3.gz") as packed,
        (home / "herald.sqlite3").open("wb") as out,
    ):
        shutil.copyfileobj(packed, out)
    shutil.copytree(source / "keys", home / "keys")
    return Desk(home, database_url)


def dumped_rows(release: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((FIXTURES / release / "data.heraldjson").read_text())
    return rows


def advisory_titles(release: str) -> set[str]:
    return {
        r["fields"]["title"] for r in dumped_rows(release) if r["model"] == "advisories.advisory"
    }


def sqlite_rows(path: Path) -> dict[str, set[str]]:
    rows: dict[str, set[str]] = {}
    with sqlite3.connect(path) as db:
        for model in apps.get_models():
            pk = model._meta.pk
            assert pk is not None
            table = model._meta.db_table
            try:
                found = db.execute(f'SELECT "{pk.column}" FROM "{table}"')  # noqa: S608
            except sqlite3.OperationalError:  # a table the old release did not have
                continue
            rows[table] = {str(value).replace("-", "") for (value,) in found}
    return rows


@pytest.mark.skipif(ON_POSTGRES_PASS, reason="the SQLite fixture upgrades in the SQLite pass")
@pytest.mark.parametrize("release", RELEASES)
def test_an_old_sqlite_desk_upgrades_with_its_data_intact(release: str, tmp_path: Path) -> None:
    desk = old_desk(release, tmp_path / "home")
    out = desk.run("setup").stdout
    assert "Database upgraded" in out or "Database schema up to date" in out
    assert "Audit chain anchored" in out
    assert "audit chain intact" in desk.run("audit", "verify").stdout
    assert "0 problem(s)" in desk.run("validate").stdout
    rows = sqlite_rows(desk.home / "herald.sqlite3")
    for row in dumped_rows(release):
        table = apps.get_model(row["model"])._meta.db_table
        # UUID keys are stored without dashes by SQLite: compare them the same way.
        assert str(row["pk"]).replace("-", "") in rows[table], f"{row['model']} {row['pk']} gone"
    titles = advisory_titles(release)
    assert titles
    listed = desk.run("advisory", "list", "--json").stdout
    assert all(title in listed for title in titles)


@pytest.mark.skipif(ON_POSTGRES_PASS, reason="runs once, in the SQLite pass")
def test_an_upgrade_keeps_a_public_base_url_someone_set(tmp_path: Path) -> None:
    """0.1.0 kept the base URL in the profile only: the upgrade must not hand it to
    whatever address `herald serve` listens on next."""
    desk = old_desk(RELEASES[0], tmp_path / "home")
    with sqlite3.connect(desk.home / "herald.sqlite3") as db:
        db.execute("UPDATE core_vendorprofile SET base_url = 'https://security.example.com'")
    out = desk.run("setup").stdout
    assert "Public base URL: https://security.example.com (set in the vendor profile)" in out
    with sqlite3.connect(desk.home / "herald.sqlite3") as db:
        [(follows,)] = db.execute("SELECT base_url_follows_server FROM core_vendorprofile")
    assert follows == 0


@pytest.mark.skipif(ON_POSTGRES_PASS, reason="runs once, in the SQLite pass")
def test_setup_on_an_old_schema_says_which_migrations_it_applied(tmp_path: Path) -> None:
    desk = old_desk(RELEASES[-1], tmp_path / "home")
    desk.run("migrate", "advisories", "0002", "--verbosity", "0")
    out = desk.run("setup").stdout
    assert "Database upgraded:" in out
    assert "    advisories.0003_listing_indexes" in out
    again = desk.run("setup").stdout
    assert "Database schema up to date: no migration to apply." in again


@pytest.mark.postgres_only
@pytest.mark.parametrize("release", RELEASES)
def test_an_old_desk_moves_into_postgresql_and_upgrades(release: str, tmp_path: Path) -> None:
    """The old rows are loaded at the old schema, then migrated forward by restore."""
    require_service("postgres")
    source = old_desk(release, tmp_path / "old-home")
    packed = tmp_path / "old.tar.gz"
    with sqlite3.connect(source.home / "herald.sqlite3") as db:
        applied = db.execute("SELECT app, name FROM django_migrations")
        migrations = sorted(f"{app}.{name}" for app, name in applied)
    with tarfile.open(packed, "w:gz") as tar:
        writer = archive._Writer(tar)
        writer.add_file(archive.SQLITE_MEMBER, source.home / "herald.sqlite3")
        writer.add_file(archive.LOGICAL_MEMBER, FIXTURES / release / "data.heraldjson")
        for key in (source.home / "keys").iterdir():
            writer.add_file(f"{archive.PREFIX}home/keys/{key.name}", key)
        writer.add_bytes(archive.SECRET_MEMBER, b"upgrade-fixture-secret-key")
        manifest = {
            "format": archive.FORMAT,
            "format_version": archive.FORMAT_VERSION,
            "herald_version": release,
            "created": "fixture",
            "engine": "sqlite",
            "database": archive.SQLITE_MEMBER,
            "migrations": migrations,
            "files": writer.files,
        }
        writer.add_bytes(archive.MANIFEST, json.dumps(manifest).encode())
    desk = Desk(tmp_path / "home", postgres_url("upgrade"))
    out = desk.run("restore", str(packed)).stdout
    assert "logical dump (sqlite to postgresql)" in out
    setup = desk.run("setup").stdout
    assert "Database schema up to date" in setup and "Audit chain anchored" in setup
    assert "audit chain intact" in desk.run("audit", "verify").stdout
    listed = desk.run("advisory", "list", "--json").stdout
    titles = advisory_titles(release)
    assert titles and all(title in listed for title in titles)
