"""Database functions that do per-row work in SQL rather than in Python.

Site files and the public index list every advisory's dates on each
publication; at 10,000 advisories turning each value into a Python datetime
(and, on SQLite, extracting a year through Django's Python-level SQL function)
costs more than the rest of those files. Both work in UTC, which is what
settings.TIME_ZONE is.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Func, IntegerField


class UtcText(Func):
    """A datetime as ``herald.publishing.render.publisher.utc()`` formats it: seconds, ``Z``."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores UTC text without an offset; %% survives Func's formatting.
        template = "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%SZ', %(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        return self.as_sql(compiler, connection, template=template, **extra)


class UtcYear(Func):
    """The UTC year of a datetime, as ExtractYear gives it when TIME_ZONE is UTC."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "CAST(strftime('%%%%Y', %(expressions)s) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "CAST(EXTRACT(YEAR FROM %(expressions)s AT TIME ZONE 'UTC') AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)
