"""The search index without the advisory's ``cve_ids`` column, which moved to each
vulnerability (advisories 0004-0006): CVE ids are found through the vulnerabilities
(``herald.web.search``), the index covers the advisory's own text.

Runs before advisories 0006 removes the column, so that no index, table or trigger
refers to it when it goes. The objects of 0001 are dropped and made again with the
new expression; ``herald.web.search`` queries exactly this expression and table.
"""

from __future__ import annotations

from django.db import migrations

# Kept literally here (not imported) so that this migration never changes after the fact.
POSTGRES_VECTOR = (
    "(setweight(to_tsvector('english'::regconfig, coalesce(identifier, '') || ' ' || "
    "coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '') || ' ' || "
    "coalesce(affected_users, '') || ' ' || coalesce(resolution, '')), 'C'))"
)
POSTGRES_CREATE = [
    "DROP INDEX IF EXISTS web_advisory_search",
    f"CREATE INDEX IF NOT EXISTS web_advisory_search ON advisories_advisory "
    f"USING GIN ({POSTGRES_VECTOR})",
]

COLUMNS = "identifier, title, summary, description, affected_users, resolution"
NEW = ", ".join(f"new.{c.strip()}" for c in COLUMNS.split(","))
OLD = ", ".join(f"old.{c.strip()}" for c in COLUMNS.split(","))
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS web_advisory_fts_ai",
    "DROP TRIGGER IF EXISTS web_advisory_fts_ad",
    "DROP TRIGGER IF EXISTS web_advisory_fts_au",
    "DROP TABLE IF EXISTS web_advisory_fts",
]
SQLITE_CREATE = [
    *SQLITE_DROP,
    f"CREATE VIRTUAL TABLE IF NOT EXISTS web_advisory_fts USING fts5({COLUMNS}, "
    "content='advisories_advisory', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS web_advisory_fts_ai AFTER INSERT ON advisories_advisory "
    f"BEGIN INSERT INTO web_advisory_fts(rowid, {COLUMNS}) VALUES (new.id, {NEW}); END",
    "CREATE TRIGGER IF NOT EXISTS web_advisory_fts_ad AFTER DELETE ON advisories_advisory "
    f"BEGIN INSERT INTO web_advisory_fts(web_advisory_fts, rowid, {COLUMNS}) "
    f"VALUES ('delete', old.id, {OLD}); END",
    "CREATE TRIGGER IF NOT EXISTS web_advisory_fts_au AFTER UPDATE ON advisories_advisory "
    f"BEGIN INSERT INTO web_advisory_fts(web_advisory_fts, rowid, {COLUMNS}) "
    f"VALUES ('delete', old.id, {OLD}); "
    f"INSERT INTO web_advisory_fts(rowid, {COLUMNS}) VALUES (new.id, {NEW}); END",
    "INSERT INTO web_advisory_fts(web_advisory_fts) VALUES ('rebuild')",
    # Identifier and title weigh most; ``ORDER BY rank`` then uses these.
    "INSERT INTO web_advisory_fts(web_advisory_fts, rank) "
    "VALUES ('rank', 'bm25(10.0, 10.0, 4.0, 1.0, 1.0, 1.0)')",
]


def _has_fts5(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA compile_options")
        return any("FTS5" in row[0] for row in cursor.fetchall())


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        statements = POSTGRES_CREATE
    elif connection.vendor == "sqlite" and _has_fts5(connection):
        statements = SQLITE_CREATE
    else:
        return  # herald.web.search falls back to indexed lookups and LIKE
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    """Back to no index: 0001's reverse step, run next, leaves none either."""
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": ["DROP INDEX IF EXISTS web_advisory_search"], "sqlite": SQLITE_DROP}
    for statement in statements.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("web", "0001_search_index"), ("advisories", "0005_vulnerabilities_from_flat_fields")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
