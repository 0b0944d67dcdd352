"""Routine care of the database: what keeps its query plans good as it grows."""

from __future__ import annotations

from django.db import connection


def refresh_planner_statistics() -> None:
    """ANALYZE: tell the query planner how many rows each index narrows to.

    Without statistics SQLite assumes that an equality on any index is narrow,
    so "the 50 newest public advisories" walks the (state, status) index and
    sorts all 10,000 rows instead of reading the newest 50 in index order: a
    hundred times slower on every publication. PostgreSQL's autovacuum gathers
    its own; running it there too is cheap (it samples) and does no harm.
    ``herald setup`` and the daily task run it.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
