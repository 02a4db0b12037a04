"""Executors: where chunks of work are trained, here or on a cluster.

A chunk is a list of configs that an engine trains in one `run_many` call; how the
configs are cut into chunks is the caller's business (today the store's and the
sweep's chunking). An executor trains chunks and yields `(chunk index, results)` as
each chunk completes, in any order; the caller stays the only writer of what it
keeps (the results store, JSON Lines), so a killed caller resumes from what it wrote.

`LocalExecutor` trains the chunks one after the other in this process (the jax
engine compiling the later chunks' programs meanwhile: `engines.prepare`). The Dask
executor (`xorlab.cluster`, chosen by the command line where it parses a scheduler
address) sends them to the workers of a cluster. Every result carries its provenance
in `extras["provenance"]` (`machine.provenance()` where it trained), because float
rounding can differ between CPUs with different vector units.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Protocol, Sequence

from . import machine
from .config import RunConfig
from .engines import ProgressCallback, prepare, run_many
from .result import RunResult

Chunk = Sequence[RunConfig]
Runner = Callable[..., list[RunResult]]  # run_many's signature


def stamp(results: list[RunResult], where: dict[str, str]) -> list[RunResult]:
    for r in results:
        r.extras["provenance"] = where
    return results


class Executor(Protocol):
    def map(self, chunks: Sequence[Chunk], engine: str,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, list[RunResult]]]:
        """Train every chunk; yield (chunk index, its results in chunk order) as each
        completes. `on_progress(n)` is called in this process as runs finish."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """Chunks trained in order, in this process, by `runner` (default: `run_many`)."""

    def __init__(self, runner: Runner | None = None):
        self.runner = runner or run_many

    def map(self, chunks: Sequence[Chunk], engine: str,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, list[RunResult]]]:
        where = None
        stop = prepare(chunks, engine) if self.runner is run_many else (lambda: None)
        try:
            for i, chunk in enumerate(chunks):
                results = self.runner(list(chunk), engine=engine, on_progress=on_progress)
                where = where or machine.provenance()
                yield i, stamp(results, where)
        finally:
            stop()

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def in_order(done: Iterable[tuple[int, list[RunResult]]]) -> Iterator[list[RunResult]]:
    """Chunks' results in chunk order, from (index, results) pairs in any order
    (holding back those that arrive early), so that a file written from them is the
    same whichever executor trained them."""
    waiting: dict[int, list[RunResult]] = {}
    want = 0
    for i, results in done:
        waiting[i] = results
        while want in waiting:
            yield waiting.pop(want)
            want += 1
