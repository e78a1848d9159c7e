"""Bulk writes for apply: rows as plain tuples, no model instances.

Building a model instance per row and letting the ORM render one INSERT per 999
parameters (SQLite) or a CASE WHEN per updated row costs more than the writes themselves
at a district's size. Here:

- PostgreSQL: ids are reserved from the table's sequence in one query, rows are COPYed
  into the table, and updates are COPYed into a temporary table and applied with one
  UPDATE … FROM.
- SQLite: executemany with explicit ids. Apply runs inside an IMMEDIATE transaction,
  which holds the database's write lock, so no other writer can take the same ids.

Callers pass values ready for the database (str, int, bool, date, aware datetime, None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import count
from typing import Any

from django.db import connections
from django.db.backends.utils import CursorWrapper
from django.db.models import DateField, DateTimeField, Model

Converter = Callable[[Any], Any]


def _executemany(cur: CursorWrapper, sql: str, rows: Iterable[tuple]) -> None:
    # The stubs ask for a Sequence; the drivers read any iterable once, and a generator
    # keeps a district's rows from being copied into one more list.
    cur.executemany(sql, rows)  # type: ignore[arg-type]


class BulkWriter:
    def __init__(self, using: str = "default") -> None:
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        self._temp = count()

    # -- helpers ---------------------------------------------------------------------

    def _fields(self, model: type[Model], names: Sequence[str]) -> list[Any]:
        # Concrete fields, each with a column (callers name them): the stubs' union of
        # every kind of field, relations included, would not narrow to that.
        return [model._meta.get_field(name) for name in names]

    def _sqlite_converters(self, fields: Sequence[object]) -> list[Converter | None]:
        ops = self.connection.ops
        out: list[Converter | None] = []
        for f in fields:
            if isinstance(f, DateTimeField):
                out.append(ops.adapt_datetimefield_value)
            elif isinstance(f, DateField):
                out.append(ops.adapt_datefield_value)
            else:
                out.append(None)
        return out

    def _sqlite_rows(self, fields: Sequence[object], rows: Iterable[tuple]) -> Iterable[tuple]:
        converters = self._sqlite_converters(fields)
        if not any(converters):
            return rows
        positions = [(i, c) for i, c in enumerate(converters) if c]

        def convert(row: tuple) -> tuple:
            cells = list(row)
            for i, c in positions:
                if cells[i] is not None:
                    cells[i] = c(cells[i])
            return tuple(cells)

        return map(convert, rows)

    @staticmethod
    def _quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    # -- ids -------------------------------------------------------------------------

    def reserve_ids(self, model: type[Model], n: int) -> list[int]:
        if n == 0:
            return []
        table = model._meta.db_table
        with self.connection.cursor() as cur:
            if self.postgres:
                cur.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self._quote(table), n],
                )
                return [row[0] for row in cur.fetchall()]
            cur.execute(
                f"SELECT MAX(COALESCE((SELECT MAX(id) FROM {self._quote(table)}), 0),"
                " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
                [table],
            )
            start = cur.fetchone()[0] + 1
        return list(range(start, start + n))

    # -- writes ----------------------------------------------------------------------

    def insert(self, model: type[Model], names: Sequence[str], rows: list[tuple]) -> list[int]:
        """Insert `rows` (values in `names` order); return their new ids in row order."""
        ids = self.reserve_ids(model, len(rows))
        if not rows:
            return ids
        fields = self._fields(model, names)
        columns = ", ".join(["id", *(self._quote(f.column) for f in fields)])
        table = self._quote(model._meta.db_table)
        with self.connection.cursor() as cur:
            if self.postgres:
                with cur.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for pk, row in zip(ids, rows, strict=True):
                        copy.write_row((pk, *row))
            else:
                marks = ", ".join(["%s"] * (len(fields) + 1))
                _executemany(
                    cur,
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                    self._sqlite_rows(
                        [None, *fields], ((pk, *row) for pk, row in zip(ids, rows, strict=True))
                    ),
                )
        return ids

    def update(self, model: type[Model], names: Sequence[str], rows: list[tuple]) -> None:
        """Update rows given as (id, *values in `names` order)."""
        if not rows:
            return
        fields = self._fields(model, names)
        table = self._quote(model._meta.db_table)
        with self.connection.cursor() as cur:
            if self.postgres:
                temp = f"rollcall_update_{next(self._temp)}"
                types = ", ".join(
                    f"{self._quote(f.column)} {f.db_type(self.connection)}" for f in fields
                )
                cur.execute(
                    f"CREATE TEMPORARY TABLE {temp} (id bigint PRIMARY KEY, {types}) ON COMMIT DROP"
                )
                cols = ", ".join(self._quote(f.column) for f in fields)
                with cur.cursor.copy(f"COPY {temp} (id, {cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                assignments = ", ".join(
                    f"{self._quote(f.column)} = u.{self._quote(f.column)}" for f in fields
                )
                cur.execute(
                    f"UPDATE {table} AS t SET {assignments} FROM {temp} AS u WHERE t.id = u.id"
                )
                cur.execute(f"DROP TABLE {temp}")
            else:
                assignments = ", ".join(f"{self._quote(f.column)} = %s" for f in fields)
                _executemany(
                    cur,
                    f"UPDATE {table} SET {assignments} WHERE id = %s",
                    self._sqlite_rows(fields + [None], ((*row[1:], row[0]) for row in rows)),
                )

    def insert_ignoring_conflicts(
        self, model: type[Model], names: Sequence[str], rows: list[tuple]
    ) -> None:
        """Insert rows, skipping any that would break a unique constraint (for caches
        that two runs may fill at once). Ids come from the table's own default."""
        if not rows:
            return
        fields = self._fields(model, names)
        table = self._quote(model._meta.db_table)
        columns = ", ".join(self._quote(f.column) for f in fields)
        with self.connection.cursor() as cur:
            if self.postgres:
                temp = f"rollcall_insert_{next(self._temp)}"
                cur.execute(
                    f"CREATE TEMPORARY TABLE {temp} AS SELECT {columns} FROM {table} WITH NO DATA"
                )
                with cur.cursor.copy(f"COPY {temp} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {temp} "
                    "ON CONFLICT DO NOTHING"
                )
                cur.execute(f"DROP TABLE {temp}")
            else:
                marks = ", ".join(["%s"] * len(fields))
                _executemany(
                    cur,
                    f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})",
                    self._sqlite_rows(fields, rows),
                )
