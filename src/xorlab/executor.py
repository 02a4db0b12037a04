"""Executors: where chunks of work are trained, here or on a cluster.

A chunk is a list of configs that an engine trains in one `run_many` call; how the
configs are cut into chunks is the caller's business (today the store's and the
sweep's chunking). An executor trains chunks and yields `(chunk index, results)` as
each chunk completes, in any order; the caller stays the only writer of what it
keeps (the results store, JSON Lines), so a killed caller resumes from what it wrote.

`LocalExecutor` trains the chunks in this process, in order (the jax engine compiling
the later chunks' programs meanwhile: `engines.prepare`); on the jax engine, chunks of
one lane block each (a search's cells of 20 seeds) train two at once, one per core,
since such a chunk keeps only one core busy. The Dask
executor (`xorlab.cluster`, chosen by the command line where it parses a scheduler
address) sends them to the workers of a cluster. Every result carries its provenance
in `extras["provenance"]` (`machine.provenance()` where it trained), because float
rounding can differ between CPUs with different vector units.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from . import machine
from .config import RunConfig
from .engines import ProgressCallback, prepare, resolve, run_many
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
        slots = self.devices(chunks, engine)
        if slots is not None:
            yield from self._side_by_side(chunks, engine, slots, on_progress)
            return
        where = None
        stop = prepare(chunks, engine) if self.runner is run_many else (lambda: None)
        try:
            for i, chunk in enumerate(chunks):
                results = self.runner(list(chunk), engine=engine, on_progress=on_progress)
                where = where or machine.provenance()
                yield i, stamp(results, where)
        finally:
            stop()

    def devices(self, chunks: Sequence[Chunk], engine: str) -> list[int | None] | None:
        """Each chunk's device where chunks can train side by side (the jax engine, two
        or more devices, chunks of one lane block: taken in turn, 0, 1, 0, ...; None for
        a chunk that uses every device); None where they train one after the other."""
        if self.runner is not run_many or resolve(engine) != "jax" or len(chunks) < 2:
            return None
        from .engines import jax_engine

        count = jax_engine.device_count()
        if count < 2:
            return None
        slots: list[int | None] = []
        turn = 0
        for chunk in chunks:
            if jax_engine.narrow(chunk):
                slots.append(turn % count)
                turn += 1
            else:
                slots.append(None)
        return slots if turn > 1 else None

    def _side_by_side(self, chunks: Sequence[Chunk], engine: str, slots: list[int | None],
                      on_progress: ProgressCallback | None) -> Iterator[tuple[int, list[RunResult]]]:
        """Chunks with a device train on a thread per device, at most one per device
        at a time, and one at a time while programs compile (on an empty compilation
        cache the compiles need the other core: side by side with them, the default
        study took longer); a chunk without a device waits for those under way and
        trains here. Results are yielded here, in this thread, as the chunks complete."""
        from .engines import jax_engine

        lock = threading.Lock()

        def progress(n: float) -> None:  # called from the training threads
            with lock:
                on_progress(n)  # type: ignore[misc]

        report = None if on_progress is None else progress
        where = machine.provenance()
        stop = prepare(chunks, engine, [slot or 0 for slot in slots])
        pool = ThreadPoolExecutor(max_workers=max(s for s in slots if s is not None) + 1,
                                  thread_name_prefix="xorlab-train")
        busy: dict[int, tuple[int, Future]] = {}  # device -> (chunk index, its results)
        try:
            for i, (chunk, slot) in enumerate(zip(chunks, slots)):
                alone = slot is None or jax_engine.compiling()
                for d in (sorted(busy, key=lambda d: busy[d][0]) if alone else [slot]):
                    if d in busy:
                        j, future = busy.pop(d)
                        yield j, stamp(future.result(), where)
                if slot is None:
                    yield i, stamp(self.runner(list(chunk), engine=engine, on_progress=report), where)
                else:
                    busy[slot] = (i, pool.submit(self.runner, list(chunk), engine=engine, on_progress=report,
                                                 device=slot))
            for j, future in sorted(busy.values(), key=lambda jf: jf[0]):
                yield j, stamp(future.result(), where)
            busy.clear()
        finally:
            stop()
            pool.shutdown(wait=False, cancel_futures=True)

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
