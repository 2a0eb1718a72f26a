"""What the commands print for people, with ``rich``: tables, and a download's progress bar.

Tables go to stdout; piped into a file or another program they keep their natural width (no
wrapping at 80 columns, no colours). ``--json`` stays the format for scripts. Progress goes to
stderr and redraws in place on a terminal; elsewhere only its final state is printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

WIDE = 10_000
"""The width of output that is not a terminal: each row on one line."""


def console(*, stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal:
        out = Console(stderr=stderr, highlight=False, width=WIDE, no_color=True)
    return out


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, right: Iterable[str] = (),
                title: str | None = None) -> None:
    """A table with ``columns`` (those in ``right`` aligned right, for numbers)."""
    aligned = set(right)
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False, show_edge=False)
    for name in columns:
        table.add_column(name, justify="right" if name in aligned else "left", no_wrap=name != columns[-1])
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console().print(table)


class DownloadProgress:
    def __init__(self, progress: Progress, task: Any) -> None:
        self._progress = progress
        self._task = task

    def update(self, done: int) -> None:
        self._progress.update(self._task, completed=done)


@contextmanager
def download_progress(description: str, total: int | None) -> Iterator[DownloadProgress]:
    """A progress bar of bytes received: bar, percent, bytes, speed, time left."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), console=console(stderr=True),
    )
    with progress:
        yield DownloadProgress(progress, progress.add_task(description, total=total or None))
