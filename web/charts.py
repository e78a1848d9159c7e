"""Small inline-SVG trend lines for the run history (no JavaScript, nothing fetched)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 300
HEIGHT = 60
PAD = 4


@dataclass(frozen=True)
class Series:
    """One line: its name, its values (oldest first; None where a run has none), and
    the SVG points and dots to draw it in a WIDTH × HEIGHT box."""

    name: str
    css: str
    values: list[int | None]
    points: str
    dots: list[tuple[float, float]]
    latest: int | None
    low: int
    high: int

    @property
    def summary(self) -> str:
        shown = [v for v in self.values if v is not None]
        if not shown:
            return f"{self.name}: no runs yet."
        if len(shown) == 1:
            return f"{self.name}: {shown[0]:,} in the one run shown."
        return (
            f"{self.name} over the last {len(shown)} runs: from {shown[0]:,} to "
            f"{shown[-1]:,} (lowest {self.low:,}, highest {self.high:,})."
        )


def series(name: str, css: str, values: list[int | None]) -> Series:
    known = [v for v in values if v is not None]
    low, high = (min(known), max(known)) if known else (0, 0)
    # Counts start at zero, so a line of small numbers is not exaggerated.
    bottom = 0 if low >= 0 else low
    span = (high - bottom) or 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    dots = []
    for i, value in enumerate(values):
        if value is None:
            continue
        x = PAD + i * step if len(values) > 1 else WIDTH / 2
        y = HEIGHT - PAD - (value - bottom) / span * (HEIGHT - 2 * PAD)
        dots.append((round(x, 1), round(y, 1)))
    points = " ".join(f"{x},{y}" for x, y in dots)
    return Series(name, css, values, points, dots, known[-1] if known else None, low, high)
