"""`xorlab serve`: a local web playground that trains many seeds of the tutorial's net
live, in the browser's view, through the same engines and store as the rest of xorlab.

`app.py` holds the routes, `jobs.py` a job (settings in, the engine in a worker thread,
events out; pause and step), `views.py` what the page is shown of runs (rates, the
difference of two settings, summaries, failure modes), `settings.py` the settings'
bounds and the presets, `static/` the page (plain HTML/CSS/JS and a vendored uPlot).
"""

from __future__ import annotations

from pathlib import Path

STORE_NAME = "playground.sqlite"


def default_store_path() -> Path:
    """The results store in the user's cache folder (e.g. ~/.cache/xorlab on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("xorlab")) / STORE_NAME
