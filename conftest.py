"""Test session set-up: which database, and what to do when a service is missing.

``HERALD_TEST_DB=postgres`` runs the suite on PostgreSQL (``DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/herald). Without a reachable server the tests
skip with the reason; with ``HERALD_REQUIRE_SERVICES=1`` (set by .ci/run) a missing
service fails the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

_SERVICE_PROBLEMS: dict[str, str] = {}


def service_problem(name: str) -> str | None:
    """Why service ``name`` cannot be used, or None when it can."""
    if name in _SERVICE_PROBLEMS:
        return _SERVICE_PROBLEMS[name] or None
    problem = ""
    if name == "postgres":
        try:
            import psycopg

            url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald")
            dsn = url.rsplit("/", 1)[0] + "/postgres"
            psycopg.connect(dsn, connect_timeout=3).close()
        except Exception as exc:
            problem = f"PostgreSQL is not reachable ({str(exc).strip().splitlines()[0]})"
    _SERVICE_PROBLEMS[name] = problem
    return problem or None


def require_service(name: str) -> None:
    """Skip the calling test when the service is missing, or fail under CI's variable."""
    problem = service_problem(name)
    if problem is None:
        return
    if os.environ.get("HERALD_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{problem}; HERALD_REQUIRE_SERVICES=1 makes this a failure", pytrace=False)
    pytest.skip(f"{problem}; start it or leave the PostgreSQL run out")


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    return f"herald database: {settings.DATABASES['default']['ENGINE']}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    using_postgres = os.environ.get("HERALD_TEST_DB") == "postgres"
    engine = settings.DATABASES["default"]["ENGINE"]
    if using_postgres and engine != "django.db.backends.postgresql":
        # A pass that claims PostgreSQL must not quietly run on SQLite.
        raise pytest.UsageError(f"HERALD_TEST_DB=postgres but the database engine is {engine}")
    if using_postgres:
        problem = service_problem("postgres")
        if problem and os.environ.get("HERALD_REQUIRE_SERVICES") == "1":
            raise pytest.UsageError(f"{problem}, and HERALD_REQUIRE_SERVICES=1 requires it")
        if problem:
            skip = pytest.mark.skip(reason=f"{problem}: the PostgreSQL run is skipped")
            for item in items:
                item.add_marker(skip)
        return
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: runs in the HERALD_TEST_DB=postgres pass")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _own_audit_anchor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test anchors its own audit chain: checkpoints of one test's database
    must not meet another test's chain (which would read as truncation)."""
    from django.test import override_settings

    with override_settings(HERALD_AUDIT_ANCHOR_DIR=tmp_path_factory.mktemp("anchor")):
        yield


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Each test starts with what a new process knows: no test leans on the parts
    another one left in the process caches (``herald.core.caches``)."""
    from herald.core.caches import reset_all

    reset_all()
