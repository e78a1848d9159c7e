"""Writing CSV files: a counted row stream, and the sink a format's people go to."""

from __future__ import annotations

import csv
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

from devtools.generator.records import Guardian, User


class Table:
    """A CSV stream: optional header, then counted rows (UTF-8, no BOM, \\n line ends)."""

    def __init__(self, file, header: tuple[str, ...] | None = None) -> None:
        self.file = file
        self.writer = csv.writer(file, lineterminator="\n")
        self.header = header or ()
        self.columns = frozenset(self.header)
        if header:
            self.writer.writerow(header)
        self.rows = 0

    @classmethod
    def create(cls, out: Path, name: str, header: tuple[str, ...]) -> Table:
        file = (out / name).open("w", encoding="utf-8", newline="")
        return cls(file, header)

    def write(self, row) -> None:
        self.writer.writerow(row)
        self.rows += 1

    def write_named(self, cells: dict[str, str]) -> None:
        """A row given by column name, laid out in the header's order; a header column not
        given is left empty. A name the header lacks raises, so no value is dropped."""
        unknown = cells.keys() - self.columns
        if unknown:
            raise ValueError(f"not columns of this file: {', '.join(sorted(unknown))}")
        self.write([cells.get(column, "") for column in self.header])

    def close(self) -> int:
        self.file.close()
        return self.rows


def write_table(out: Path, name: str, header: tuple[str, ...], rows) -> int:
    table = Table.create(out, name, header)
    for row in rows:
        table.write(row)
    return table.close()


class Sink:
    """Where people go: staff first, then each student (with the household's guardians,
    complete by then), then the guardians of that household."""

    def __init__(self) -> None:
        self._spills = ExitStack()

    def spill(self) -> Table:
        """A temporary table, for rows that must follow rows not yet written."""
        return Table(
            self._spills.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
        )

    @staticmethod
    def append(table: Table, spill: Table) -> None:
        spill.file.seek(0)
        table.file.flush()
        shutil.copyfileobj(spill.file, table.file)
        table.rows += spill.rows

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc) -> None:
        self._spills.close()

    def staff(self, user: User) -> None:
        raise NotImplementedError

    def student(self, user: User, demographics: tuple, guardians: list[Guardian]) -> None:
        raise NotImplementedError

    def parent(self, user: User) -> None:
        raise NotImplementedError

    def finish(self) -> dict[str, int]:
        """Close the files; data rows per file name."""
        raise NotImplementedError
