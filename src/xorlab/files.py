"""Writing result files whole or not at all."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def printable(path: str | Path) -> str:
    """A path as text that any UTF-8 file or terminal takes: bytes that are not UTF-8
    (the OS accepts any but / and NUL in a name) as \\xff escapes, not surrogates that
    cannot be written."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, renamed over
    `path` only once complete: a disk that fills up, or a crash, leaves the previous file
    (or none), never a truncated one. An OSError names `path`."""
    path = Path(path)
    if path.exists() and not path.is_file():  # /dev/stdout, a pipe: not ours to replace
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # a full disk may only say so here
        os.replace(temp, path)
    except BaseException as err:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(err, OSError):
            raise OSError(err.errno, err.strerror, str(path)) from None
        raise
