"""Progress bars for the study (rich, on stderr so ``--json`` output stays clean)."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class Silent:
    """A progress display that shows nothing (tests, the report)."""

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def start(self, label: str, steps: int) -> None:
        """A new run of ``steps`` optimiser steps begins."""

    def step(self, done: int, loss: float) -> None:
        """``done`` steps of the current run are finished; ``loss`` is the last batch's."""

    def finish(self, label: str) -> None:
        """The current run (trained or taken from the cache) is finished."""


class Bars(Silent):
    """Two rich bars: all runs of the study, and the steps of the current run."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._total = total
        self._overall: Any = None
        self._run: Any = None

    def __enter__(self) -> Bars:
        self._progress.__enter__()
        self._overall = self._progress.add_task("study", total=self._total, info="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def start(self, label: str, steps: int) -> None:
        if self._run is not None:
            self._progress.remove_task(self._run)
        self._run = self._progress.add_task(f"  {label}", total=steps, info="")

    def step(self, done: int, loss: float) -> None:
        if self._run is not None and (done % 10 == 0 or done == 1):
            self._progress.update(self._run, completed=done, info=f"loss {loss:.3f}")

    def finish(self, label: str) -> None:
        if self._run is not None:
            self._progress.remove_task(self._run)
            self._run = None
        self._progress.update(self._overall, advance=1, info=label)
