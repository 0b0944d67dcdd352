"""One archive with everything a desk needs to come back whole, and its restore.

The archive is a gzip'd tar with a ``herald-backup/`` prefix:

- ``database/herald.sqlite3`` (SQLite's online backup API) or
  ``database/postgres.dump`` (``pg_dump --format=custom``): the native copy,
  restored when the new desk uses the same engine;
- ``database/data.heraldjson``: the same snapshot as a logical dump (Django's
  ``dumpdata`` with times to the microsecond), for moving to the other engine,
  the way a vendor outgrowing SQLite moves to PostgreSQL;
- ``home/``: the secret key, the signing keys (retired ones too), report
  attachments and raw messages, the GnuPG home for encrypted reports, and the
  audit anchor (its checkpoints and key);
- ``manifest.json``, last: the format, Herald's version, the engine, the applied
  migrations, and the SHA-256 and size of every other member.

Order matters for consistency while Herald runs: the audit anchor is copied
before the database snapshot (so the snapshot holds every checkpointed event),
the keys and attachments after it (so every row finds its file).

``restore`` checks the whole archive against its manifest in a staging
directory before it writes anything in ``HERALD_HOME`` or the database.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysequoia as pgp
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction

from herald.audit.anchor import anchor_dir
from herald.core import schema
from herald.core.errors import HeraldError
from herald.intake.conf import gnupg_home, storage_root
from herald.publishing.store.signing import key_dir

FORMAT = "herald-backup"
FORMAT_VERSION = 1
PREFIX = "herald-backup/"
MANIFEST = PREFIX + "manifest.json"
SQLITE_MEMBER = PREFIX + "database/herald.sqlite3"
PG_MEMBER = PREFIX + "database/postgres.dump"
LOGICAL_MEMBER = PREFIX + "database/data.heraldjson"
SECRET_MEMBER = PREFIX + "home/secret_key"
# Rebuilt by migrate (natural keys point at them in the dump).
LOGICAL_EXCLUDE = ["contenttypes", "auth.permission"]
CHUNK = 1 << 20


def home_sections() -> dict[str, Path]:
    """The directories under HERALD_HOME (or where settings move them) that a backup holds."""
    return {
        "audit": anchor_dir(),
        "keys": key_dir(),
        "intake": storage_root(),
        "gnupg": gnupg_home(),
    }


def engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise HeraldError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


@dataclass
class BackupResult:
    path: Path
    engine: str
    files: int
    size: int
    encrypted: bool


# ---------------------------------------------------------------- writing


class _Writer:
    """Adds members to the tar and remembers each one's checksum for the manifest."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.files: dict[str, dict[str, Any]] = {}

    def add_file(self, name: str, path: Path, mode: int = 0o600) -> None:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
        info = tarfile.TarInfo(name)
        info.size = path.stat().st_size
        info.mode = mode
        info.mtime = int(path.stat().st_mtime)
        with path.open("rb") as fh:
            self.tar.addfile(info, fh)
        self.files[name] = {"sha256": digest.hexdigest(), "size": info.size}

    def add_bytes(self, name: str, data: bytes, mode: int = 0o600) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
        self.tar.addfile(info, io.BytesIO(data))
        self.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def add_tree(self, section: str, root: Path) -> None:
        if not root.is_dir():
            return
        for path in sorted(root.rglob("*")):
            # Regular files only: GnuPG's sockets and lock links are the agent's, not data.
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            self.add_file(f"{PREFIX}home/{section}/{relative}", path, path.stat().st_mode & 0o777)


def _pg_params() -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump and pg_restore; the password goes in the environment."""
    db = settings.DATABASES["default"]
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run_pg_tool(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603  (fixed program, arguments from settings)
            command, env=env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise HeraldError(
            f"{command[0]} is not installed: install PostgreSQL's client tools "
            "(Debian: apt-get install postgresql-client) to back up or restore PostgreSQL."
        ) from None
    if done.returncode != 0:
        raise HeraldError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def _dump_logical(using: str, target: Path) -> None:
    call_command(
        "dumpdata",
        database=using,
        format="heraldjson",
        natural_foreign=True,
        exclude=LOGICAL_EXCLUDE,
        output=str(target),
        verbosity=0,
    )


def _dump_sqlite_copy(copy: Path, target: Path) -> None:
    """``dumpdata`` of the snapshot file, by a ``herald`` process whose database it is."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{copy}", "HERALD_WARM_PUBLISHING": "0"}
    env.pop("HERALD_TEST_DB", None)
    command = [sys.executable, "-m", "herald.cli", "dumpdata", "--format", "heraldjson"]
    command += ["--natural-foreign", "--output", str(target), "--verbosity", "0"]
    for label in LOGICAL_EXCLUDE:
        command += ["--exclude", label]
    done = subprocess.run(  # noqa: S603  (this Python, Herald's own command)
        command, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise HeraldError(f"The logical dump failed: {done.stderr.strip()[-2000:]}")


def _snapshot_sqlite(work: Path) -> tuple[Path, Path, list[str]]:
    copy = work / "herald.sqlite3"
    source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
    target = sqlite3.connect(str(copy))
    try:
        # One step (pages=-1): the copy is one consistent state while writers go on.
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        migrations = sorted(
            f"{app}.{name}"
            for app, name in target.execute("SELECT app, name FROM django_migrations")
        )
    finally:
        source.close()
        target.close()
    logical = work / "data.heraldjson"
    _dump_sqlite_copy(copy, logical)
    return copy, logical, migrations


def _snapshot_postgres(work: Path) -> tuple[Path, Path, list[str]]:
    dump = work / "postgres.dump"
    logical = work / "data.heraldjson"
    args, env = _pg_params()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # pg_dump and dumpdata read the same snapshot, exported by this transaction.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        _run_pg_tool(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                *args,
                "--file",
                str(dump),
                str(settings.DATABASES["default"]["NAME"]),
            ],
            env,
            "pg_dump",
        )
        migrations = schema.applied_migrations()
        _dump_logical("default", logical)
    return dump, logical, migrations


def create_backup(destination: Path, *, encrypt_to: Path | None = None) -> BackupResult:
    """Write the archive to ``destination`` (atomically: a partial file never has its name)."""
    recipient = _read_recipient(encrypt_to) if encrypt_to is not None else None
    destination = destination.resolve()
    if destination.is_dir():
        raise HeraldError(f"{destination} is a directory; give the archive's file name.")
    if not destination.parent.is_dir():
        raise HeraldError(f"{destination.parent} does not exist.")
    vendor = engine()
    sections = home_sections()
    with tempfile.TemporaryDirectory(prefix="herald-backup-") as tmp:
        work = Path(tmp)
        # The anchor first: every checkpoint it holds is then in the snapshot.
        anchor_copy = work / "audit"
        if sections["audit"].is_dir():
            shutil.copytree(sections["audit"], anchor_copy)
        if vendor == "sqlite":
            native, logical, migrations = _snapshot_sqlite(work)
            native_member = SQLITE_MEMBER
        else:
            native, logical, migrations = _snapshot_postgres(work)
            native_member = PG_MEMBER
        plain = work / "archive.tar.gz"
        with tarfile.open(plain, "w:gz", compresslevel=6) as tar:
            writer = _Writer(tar)
            writer.add_file(native_member, native)
            writer.add_file(LOGICAL_MEMBER, logical)
            writer.add_tree("audit", anchor_copy)
            writer.add_bytes(SECRET_MEMBER, settings.SECRET_KEY.encode())
            for section in ("keys", "intake", "gnupg"):
                writer.add_tree(section, sections[section])
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "herald_version": schema.herald_version(),
                "created": dt.datetime.now(dt.UTC).isoformat(),
                "engine": vendor,
                "database": native_member,
                "migrations": migrations,
                "files": writer.files,
            }
            writer.add_bytes(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
            count = len(writer.files)
        partial = destination.with_name(f".{destination.name}.partial")
        if recipient is not None:
            pgp.encrypt_file(str(plain), str(partial), recipients=[recipient], armor=False)
        else:
            shutil.copyfile(plain, partial)
        os.chmod(partial, 0o600)  # it holds the secret keys
        os.replace(partial, destination)
    return BackupResult(
        destination, vendor, count, destination.stat().st_size, recipient is not None
    )


def _read_recipient(path: Path) -> pgp.Cert:
    try:
        cert = pgp.Cert.from_bytes(path.read_bytes())
    except FileNotFoundError:
        raise HeraldError(f"--encrypt-to: {path} does not exist.") from None
    except Exception as exc:  # pysequoia raises plain exceptions with Sequoia's message
        raise HeraldError(f"--encrypt-to: {path} is not an OpenPGP public key: {exc}") from None
    return cert


# ---------------------------------------------------------------- reading


@dataclass
class VerifiedArchive:
    """An archive whose every member matched its manifest, unpacked in ``staging``."""

    staging: Path
    manifest: dict[str, Any]
    members: dict[str, Path] = field(default_factory=dict)

    def path(self, member: str) -> Path:
        return self.members[member]


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _decrypt(source: Path, target: Path, decrypt_with: Path | None) -> None:
    if decrypt_with is None:
        raise HeraldError(
            f"{source} is not a plain Herald backup: if it is encrypted, give the secret key "
            "with --decrypt-with KEYFILE."
        )
    try:
        tsk = pgp.Tsk.from_bytes(decrypt_with.read_bytes())
    except FileNotFoundError:
        raise HeraldError(f"--decrypt-with: {decrypt_with} does not exist.") from None
    except Exception as exc:
        raise HeraldError(f"--decrypt-with: not an OpenPGP secret key: {exc}") from None
    try:
        pgp.decrypt_file(str(source), str(target), decryptor=tsk.decryptor())
    except Exception as exc:
        raise HeraldError(
            f"{source} cannot be decrypted with that key (damaged, or encrypted to another "
            f"key): {exc}"
        ) from None


def open_verified(
    source: Path, staging: Path, *, decrypt_with: Path | None = None
) -> VerifiedArchive:
    """Unpack ``source`` into ``staging`` and check it whole; HeraldError naming what is wrong."""
    if not source.is_file():
        raise HeraldError(f"{source} does not exist.")
    archive = source
    if not _is_gzip(source):
        archive = staging / "decrypted.tar.gz"
        _decrypt(source, archive, decrypt_with)
        if not _is_gzip(archive):
            raise HeraldError(f"{source} is not a Herald backup (no archive inside).")
    unpacked = staging / "unpacked"
    unpacked.mkdir()
    verified = VerifiedArchive(unpacked, {})
    digests: dict[str, tuple[str, int]] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                name = info.name
                if info.isdir():
                    continue
                if not info.isfile() or not name.startswith(PREFIX) or ".." in name.split("/"):
                    raise HeraldError(
                        f"{source} is not a Herald backup: unexpected member {name!r}."
                    )
                target = unpacked / name.removeprefix(PREFIX)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                fh = tar.extractfile(info)
                assert fh is not None  # a regular file always has a body
                with target.open("wb") as out:
                    for chunk in iter(lambda fh=fh: fh.read(CHUNK), b""):  # type: ignore[misc]
                        digest.update(chunk)
                        out.write(chunk)
                os.chmod(target, info.mode & 0o777 or 0o600)
                digests[name] = (digest.hexdigest(), info.size)
                verified.members[name] = target
    except (tarfile.TarError, EOFError, OSError, zlib.error, gzip.BadGzipFile) as exc:
        raise HeraldError(f"{source} is damaged or truncated: {exc}") from None
    if MANIFEST not in verified.members:
        raise HeraldError(f"{source} is not a Herald backup, or is truncated: no manifest.")
    try:
        manifest = json.loads(verified.members[MANIFEST].read_bytes())
    except ValueError:
        raise HeraldError(f"{source} is damaged: its manifest is not readable.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise HeraldError(f"{source} is not a Herald backup (its manifest is another format).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise HeraldError(
            f"{source} is a Herald backup of format {manifest.get('format_version')}; this "
            f"Herald ({schema.herald_version()}) reads format {FORMAT_VERSION}."
        )
    listed: dict[str, Any] = manifest.get("files") or {}
    for name, entry in listed.items():
        if name not in digests:
            raise HeraldError(f"{source} is damaged or truncated: {name} is missing.")
        if (entry.get("sha256"), entry.get("size")) != digests[name]:
            raise HeraldError(f"{source} is damaged: {name} does not match its checksum.")
    extra = sorted(set(digests) - set(listed) - {MANIFEST})
    if extra:
        raise HeraldError(f"{source} is damaged: {extra[0]} is not in its manifest.")
    if manifest.get("database") not in listed or LOGICAL_MEMBER not in listed:
        raise HeraldError(f"{source} is damaged: it holds no database.")
    verified.manifest = manifest
    return verified


# ---------------------------------------------------------------- restoring


@dataclass
class RestoreResult:
    source_engine: str
    target_engine: str
    method: str
    files: int
    herald_version: str
    upgraded: list[str]
    secret_key_differs: bool


def _not_empty(root: Path) -> bool:
    return root.is_dir() and any(p.is_file() for p in root.rglob("*"))


def check_target_empty() -> None:
    """Refuse to restore over a desk: every table and home directory must be empty."""
    tables = connection.introspection.table_names()
    if tables:
        raise HeraldError(
            f"The database ({connection.settings_dict['NAME']}) already has {len(tables)} "
            "table(s): restore needs an empty database. Create a new one (PostgreSQL) or "
            "point HERALD_HOME at an empty directory (SQLite)."
        )
    for section, root in home_sections().items():
        if _not_empty(root):
            raise HeraldError(
                f"{root} ({section}) is not empty: restore into an empty HERALD_HOME."
            )


def _install_sqlite(copy: Path) -> None:
    target = Path(settings.DATABASES["default"]["NAME"])
    connections.close_all()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(copy, target)


def _install_postgres(dump: Path) -> None:
    args, env = _pg_params()
    connections.close_all()
    _run_pg_tool(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            *args,
            "--dbname",
            str(settings.DATABASES["default"]["NAME"]),
            str(dump),
        ],
        env,
        "pg_restore",
    )


def _load_logical(dump: Path, migrations: list[str]) -> None:
    """The other engine: the schema the dump was made with, then its rows, read with
    that schema's models (a newer model would look for columns the schema lacks)."""
    from herald.backups.serializer import models_of

    dump_models = schema.migrate_to(migrations)
    with models_of(dump_models):
        call_command("loaddata", str(dump), verbosity=0)


def _install_home(verified: VerifiedArchive) -> int:
    sections = home_sections()
    count = 0
    for name, path in verified.members.items():
        if not name.startswith(PREFIX + "home/") or name == SECRET_MEMBER:
            continue
        section, _, relative = name.removeprefix(PREFIX + "home/").partition("/")
        root = sections.get(section)
        if root is None:
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(path, target)
        count += 1
    secret = Path(settings.HERALD_HOME) / "secret_key"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(verified.path(SECRET_MEMBER).read_bytes())
    return count + 1


def restore_backup(
    source: Path,
    *,
    decrypt_with: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> RestoreResult:
    """Restore ``source`` into this (empty) HERALD_HOME and database."""
    with tempfile.TemporaryDirectory(prefix="herald-restore-") as tmp:
        verified = open_verified(source.resolve(), Path(tmp), decrypt_with=decrypt_with)
        manifest = verified.manifest
        migrations = list(manifest.get("migrations") or [])
        unknown = schema.unknown_migrations(migrations)
        if unknown:
            raise HeraldError(
                f"{source} was made by a newer Herald ({manifest.get('herald_version')}, "
                f"schema {unknown[0]}); restore it with that version or later."
            )
        check_target_empty()
        progress(
            f"Archive verified: {len(manifest['files'])} files, made by Herald "
            f"{manifest.get('herald_version')} on {manifest.get('created')}."
        )
        source_engine, target_engine = str(manifest["engine"]), engine()
        if source_engine == target_engine == "sqlite":
            method = "SQLite copy"
            _install_sqlite(verified.path(SQLITE_MEMBER))
        elif source_engine == target_engine == "postgresql":
            method = "pg_restore"
            _install_postgres(verified.path(PG_MEMBER))
        else:
            method = f"logical dump ({source_engine} to {target_engine})"
            _load_logical(verified.path(LOGICAL_MEMBER), migrations)
        files = _install_home(verified)
        from_env = settings.HERALD_ENV.get("HERALD_SECRET_KEY", "")
        differs = bool(from_env) and from_env.encode() != verified.path(SECRET_MEMBER).read_bytes()
    due = schema.due_migrations()
    if due:
        call_command("migrate", interactive=False, verbosity=0)
    from herald.publishing.store import serving

    serving.sync()
    return RestoreResult(
        source_engine,
        target_engine,
        method,
        files,
        str(manifest.get("herald_version")),
        due,
        differs,
    )
