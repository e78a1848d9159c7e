"""Write a made-up district as OneRoster 1.1 / 1.2 or Clever CSV files (see devtools.generator)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devtools.generator import FORMATS, generate_district

# Student sourcedIds are zero-padded to six digits; beyond that the data stops looking real.
MAX_STUDENTS = 999_999


class Command(BaseCommand):
    help = (
        "Generate a deterministic, realistic school district as OneRoster 1.1 CSV files "
        "(or OneRoster 1.2 or Clever SFTP CSV with --format). The same --students, --seed "
        "and --format always give byte-identical files, and the formats of one district "
        "describe the same people, classes and problems."
    )

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, required=True, help="Number of students.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--out", required=True, help="Folder to write the CSV files into.")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="oneroster11",
            help="File format: oneroster11 (default), oneroster12 or clever.",
        )
        parser.add_argument(
            "--clean",
            action="store_true",
            help="Leave out the injected data problems (bad birth dates, missing contacts, ...).",
        )

    def handle(self, *args, **options):
        students, out = options["students"], Path(options["out"])
        if not 1 <= students <= MAX_STUDENTS:
            raise CommandError(f"--students must be between 1 and {MAX_STUDENTS:,}.")
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a folder.")
        try:
            counts = generate_district(
                students=students,
                seed=options["seed"],
                out=out,
                problems=not options["clean"],
                format=options["format"],
            )
        except OSError as exc:
            raise CommandError(f"Could not write to {out}: {exc}") from exc
        files = ", ".join(f"{name} {rows}" for name, rows in counts.items())
        self.stdout.write(
            f"Wrote {students} students to {out} as {options['format']} ({files} rows)."
        )
