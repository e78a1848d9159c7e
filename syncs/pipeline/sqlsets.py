"""Set membership with one bound parameter, however large the set.

`field IN (%s, %s, ...)` needs a parameter per value and SQLite caps them at 999, so a
large district would need a query per thousand people. Passing the whole set as one
JSON array (SQLite's json_each) or one array (PostgreSQL's ANY) keeps a sync's query
count independent of the district's size.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from django.db import connections
from django.db.models import QuerySet


def filter_in(qs: QuerySet, field: str, values: Collection, *, negate: bool = False) -> QuerySet:
    column = qs.model._meta.get_field(field).column
    table = qs.model._meta.db_table
    vendor = connections[qs.db].vendor
    listed = list(values)
    params: list[object]
    if vendor == "postgresql":
        clause = f'"{table}"."{column}" = ANY(%s)'
        params = [listed]
    else:
        clause = f'"{table}"."{column}" IN (SELECT value FROM json_each(%s))'
        params = [json.dumps(listed)]
    if negate:
        clause = f"NOT ({clause})"
    return qs.extra(where=[clause], params=params)
