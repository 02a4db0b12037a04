"""The environment variables xorlab's libraries read at import, checked before they do.

numba, torch's OpenMP runtime and MKL read their thread counts and threading layer
once, when first imported, and some fail there on values they do not take
(NUMBA_NUM_THREADS=0 raises inside `import numba`, 100,000 threads crash the process);
matplotlib and the playground's store need their cache folders writable.
The `xorlab` command drops such a value with a one-line warning and runs with the
library's default, so an odd shell environment never stops it.
"""

from __future__ import annotations

import os
import sys
from typing import MutableMapping, Sequence

THREAD_COUNTS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# More threads than this per core only oversubscribes (and tens of thousands crash numba).
THREADS_PER_CORE = 4
# Folders the libraries write caches to; matplotlib warns in several lines about one it
# cannot write, and falls back to a temporary folder anyway.
CACHE_FOLDERS = ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
# numba's documented choices (numba.readthedocs.io, "The Threading Layers").
NUMBA_LAYERS = ("default", "safe", "threadsafe", "forksafe", "omp", "tbb", "workqueue")


def thread_count_ok(value: str, most: int) -> bool:
    """A count, or a comma-separated list of counts (OpenMP's nested levels), each 1 to `most`."""
    parts = value.strip().split(",")
    return all(p.strip().isdigit() and 1 <= int(p) <= most for p in parts)


def writable_folder(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)  # as the library would, on first use
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def odd_values(environ: MutableMapping[str, str], cpus: int) -> dict[str, str]:
    """The variables whose values a library would refuse or crash on: name -> what it expects."""
    most = THREADS_PER_CORE * max(cpus, 1)
    odd = {name: f"a whole number from 1 to {most}" for name in THREAD_COUNTS
           if name in environ and not thread_count_ok(environ[name], most)}
    layer = environ.get("NUMBA_THREADING_LAYER")
    if layer is not None and layer.strip().lower() not in NUMBA_LAYERS:
        odd["NUMBA_THREADING_LAYER"] = f"one of {', '.join(NUMBA_LAYERS)}"
    odd.update({name: "a folder this user can write" for name in CACHE_FOLDERS
                if environ.get(name) and not writable_folder(environ[name])})
    return odd


def repair(environ: MutableMapping[str, str], cpus: int) -> list[str]:
    """Remove the odd values from `environ`; one warning line for each."""
    lines = []
    for name, expected in odd_values(environ, cpus).items():
        lines.append(f"xorlab: warning: ignoring {name}={environ.pop(name)!r} (expected {expected})")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """The `xorlab` command: the environment repaired before any library reads it, then the CLI."""
    for line in repair(os.environ, os.cpu_count() or 1):
        if sys.stderr is not None:  # closed (`2>&-`): print would fall back to stdout
            print(line, file=sys.stderr)
    from .cli import main as cli_main

    return cli_main(argv)
