"""The database schema's state: which migrations are applied, which are due, and applying them.

``herald setup`` says what an upgrade did with this, and ``herald restore`` brings
a logical dump to the schema it was made with before loading it.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Any

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader


def herald_version() -> str:
    try:
        return metadata.version("herald")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def applied_migrations(using: str = "default") -> list[str]:
    """Every applied migration as ``app.name``, in a stable order."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    return sorted(f"{app}.{name}" for app, name in loader.applied_migrations)


def due_migrations(using: str = "default") -> list[str]:
    """The migrations ``migrate`` would apply now, in order."""
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]


def unknown_migrations(names: Iterable[str], using: str = "default") -> list[str]:
    """Those of ``names`` this version of Herald does not have (a newer Herald made them)."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    known = {f"{app}.{name}" for app, name in loader.graph.nodes}
    return sorted(set(names) - known)


def _targets(executor: MigrationExecutor, names: Iterable[str]) -> list[tuple[str, str]]:
    graph = executor.loader.graph
    by_app: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        app, _, migration = name.partition(".")
        by_app.setdefault(app, []).append((app, migration))
    # An app's newest applied migration is the one with the longest way from the root.
    return [max(nodes, key=lambda n: len(graph.forwards_plan(n))) for nodes in by_app.values()]


def migrate_to(names: Iterable[str], using: str = "default") -> Any:
    """Bring an empty database to exactly the state where ``names`` are the applied
    migrations; the models of that state (``apps``), to load rows made with it."""
    executor = MigrationExecutor(connections[using])
    targets = _targets(executor, names)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def describe_upgrade(before_applied: int, applied: list[str]) -> list[str]:
    """What ``herald setup`` tells the operator about the schema."""
    if not applied:
        return ["Database schema up to date: no migration to apply."]
    if before_applied == 0:
        return [f"Database created: {len(applied)} migrations applied."]
    return [
        f"Database upgraded: {len(applied)} migration(s) applied:",
        *(f"    {name}" for name in applied),
    ]
