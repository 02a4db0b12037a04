"""The playground's routes: the page, its static files, and the JSON API.

Every route reads or writes only the job registry and, through the jobs, the results
store; the static files are read once from the package and served by name from a
fixed list, so no request names a path on disk. The API is documented in README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import weakref
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import __version__
from ..data import make_data
from .guard import Guard
from ..config import ConfigError
from .jobs import FINISHED, IDLE_SECONDS, PAUSE_SECONDS, Busy, Job, Jobs
from .views import live_modes, params_json, rates
from .settings import meta, parse_job

MAX_BODY = 4096  # bytes: a job's settings are ~200
FLUSH_SECONDS = 0.1  # the stream sends what is new at most this often (~10 updates/s)
PARAMS_SECONDS = 0.5  # every run's latest parameters (for the selected seed's maps)
MODES_SECONDS = 2.0  # live failure modes: a diagnosis of every run, so less often,
MODES_SHARE = 10  # and at most a tenth of the time

STATIC = {  # URL name -> (package file, media type)
    "main.js": ("main.js", "text/javascript"),
    "api.js": ("api.js", "text/javascript"),
    "state.js": ("state.js", "text/javascript"),
    "controls.js": ("controls.js", "text/javascript"),
    "charts.js": ("charts.js", "text/javascript"),
    "job.js": ("job.js", "text/javascript"),
    "model.js": ("model.js", "text/javascript"),
    "maps.js": ("maps.js", "text/javascript"),
    "network.js": ("network.js", "text/javascript"),
    "style.css": ("style.css", "text/css"),
    "uPlot.iife.min.js": ("vendor/uplot/uPlot.iife.min.js", "text/javascript"),
    "uPlot.min.css": ("vendor/uplot/uPlot.min.css", "text/css"),
    "uPlot.LICENSE": ("vendor/uplot/LICENSE", "text/plain"),
    "uPlot.VERSION": ("vendor/uplot/VERSION", "text/plain"),
}


class TooLarge(Exception):
    pass


def error(status: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _load_static() -> dict[str, tuple[bytes, str]]:
    root = resources.files(__package__) / "static"
    files = {name: ((root / path).read_bytes(), media) for name, (path, media) in STATIC.items()}
    files["index.html"] = ((root / "index.html").read_bytes(), "text/html; charset=utf-8")
    return files


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLarge
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return body


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=False)}\n\n"


class Live:
    """One stream's view of a job: each run's latest accuracy, for the rates so far."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.accuracy: dict[int, float] = {}
        self.epoch = 0

    def update(self, snaps: list[dict]) -> dict[str, Any]:
        for s in snaps:
            self.accuracy.update(zip(s["runs"], s["accuracy"]))
            self.epoch = max(self.epoch, s["epoch"])
        return rates(self.job.sides, self.accuracy, self.epoch)


def modes_event(job: Job) -> dict[str, Any]:
    """Live failure modes: A's as `modes`, B's as `modes_b` in a comparison."""
    snaps, params = job.copy()
    a, *b = [live_modes(job.configs, snaps, params, side) for side in job.sides]
    return {"modes": a, **({"modes_b": b[0]} if b else {})}


async def job_events(job: Job, release: Callable[[], None]) -> AsyncIterator[str]:
    """The job's events: `start`, then `epochs` (every snapshot since the last one, with
    the success rates so far), `state` when it pauses or runs again, `params` and `modes`
    now and then, and finally `done`, `stopped` or `error` with the job's status. The
    caller counted the stream; `release` uncounts it. The last listener leaving while the
    job trains stops it (a closed tab)."""
    live, cursor, changed, sent_params, modes_at = Live(job), 0, 0, -1, 0
    last_params = last_modes = 0.0
    modes_every = MODES_SECONDS
    try:
        yield sse("start", job.start_info())
        while True:
            snaps, changes, state = job.read(cursor, changed)
            if snaps:
                cursor += len(snaps)
                yield sse("epochs", {"snapshots": snaps, **live.update(snaps)})
            for change in changes:
                changed += 1
                yield sse("state", change)
            now = time.monotonic()
            version, params = job.latest_params()
            if version != sent_params and (now - last_params >= PARAMS_SECONDS or state in FINISHED):
                sent_params, last_params = version, now
                yield sse("params", {"params": [params_json(p) for p in params]})
            if state not in FINISHED and now - last_modes >= modes_every and cursor != modes_at:  # (not paused)
                modes, modes_at = await asyncio.to_thread(modes_event, job), cursor
                last_modes = time.monotonic()
                # Diagnosing 500 runs takes most of a second of CPU that training wants too.
                modes_every = max(MODES_SECONDS, MODES_SHARE * (last_modes - now))
                yield sse("modes", modes)
            if state in FINISHED:
                snaps, changes, _ = job.read(cursor, changed)
                if not snaps and not changes:
                    yield sse(state, job.status())
                    return
                continue
            await asyncio.sleep(FLUSH_SECONDS)
    finally:
        release()
        if job.listeners == 0 and not job.finished:
            job.stop("its last event stream closed")


def counted_stream(jobs: Jobs, job: Job) -> AsyncIterator[str]:
    """The job's events, its stream counted now (Busy past the limits) and uncounted
    once, when the stream ends or, if the client left before it began, when it is dropped."""
    jobs.open_stream(job)
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            jobs.close_stream(job)

    stream = job_events(job, release)
    weakref.finalize(stream, release)
    return stream


def _jobs(request: Request) -> Jobs:
    return request.app.state.jobs


def static_file(request: Request, name: str) -> Response:
    content, media = request.app.state.files[name]
    return Response(content, media_type=media)


async def index(request: Request) -> Response:
    return static_file(request, "index.html")


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return error(404, f"no static file {name!r}")
    return static_file(request, name)


async def api_meta(request: Request) -> Response:
    return JSONResponse({**meta(), "version": __version__})


async def create_job(request: Request) -> Response:
    try:
        data = json.loads(await read_body(request))
    except ClientDisconnect:  # the client hung up mid-body: nobody to answer
        return Response(status_code=400)
    except TooLarge:
        return error(413, f"the request body is over {MAX_BODY} bytes")
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return error(400, "the body must be JSON: an object of settings, or {\"a\": {...}, \"b\": {...}}")
    try:
        settings, compare = parse_job(data)
    except ConfigError as err:
        return error(422, str(err), err.field)
    try:
        job = _jobs(request).create(settings, compare)
    except Busy as err:
        return error(429, str(err))
    return JSONResponse(job.start_info(), status_code=201)


def find(request: Request) -> Job | Response:
    job = _jobs(request).get(request.path_params["job_id"])
    return job if job is not None else error(404, f"no job {request.path_params['job_id']!r}")


async def job_status(request: Request) -> Response:
    job = find(request)
    return job if isinstance(job, Response) else JSONResponse(job.status())


async def events(request: Request) -> Response:
    job = find(request)
    if isinstance(job, Response):
        return job
    try:
        stream = counted_stream(_jobs(request), job)
    except Busy as err:
        return error(429, str(err))
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def results(request: Request) -> Response:
    job = find(request)
    if isinstance(job, Response):
        return job
    if job.results is None:
        return error(409, f"job {job.id} is {job.state}; results come when it is done")
    modes = [r["mode"] for r in job.summary["runs"]]
    if job.compare is not None:
        modes += [r["mode"] for r in job.summary["b"]["runs"]]
    runs = [{**r.summary(), "side": job.side(i), "mode": m, "replay": job.replay(i)}
            for i, (r, m) in enumerate(zip(job.results, modes))]
    return JSONResponse({**job.status(), "results": runs})


async def run_detail(request: Request) -> Response:
    job = find(request)
    if isinstance(job, Response):
        return job
    i = request.path_params["index"]
    if not 0 <= i < len(job.configs):
        return error(404, f"job {job.id} has runs 0 to {len(job.configs) - 1}")
    c = job.configs[i]
    _, params = job.latest_params()
    data = await asyncio.to_thread(make_data, [c.seed], c.inputs, c.center)
    x = data.test_x.reshape(-1, c.inputs)  # (500, N)
    y = data.test_y.reshape(-1)  # (500,)
    return JSONResponse({"index": i, "seed": c.seed, "replay": job.replay(i), "params": params_json(params[i]),
                         "test_x": x.round(4).tolist(), "test_y": y.round(4).tolist()})


CONTROLS = {"pause": Job.pause, "resume": Job.resume, "step": Job.step, "cancel": Job.cancel}


async def control(request: Request) -> Response:
    """POST .../pause, /resume, /step, /cancel: 202 and where the job stands."""
    action = CONTROLS.get(request.path_params["action"])
    if action is None:
        return error(404, f"no action {request.path_params['action']!r} (actions: {', '.join(CONTROLS)})")
    job = find(request)
    return job if isinstance(job, Response) else JSONResponse(action(job), status_code=202)


ROUTES = [
    Route("/", index),
    Route("/static/{name}", static),
    Route("/api/meta", api_meta),
    Route("/api/jobs", create_job, methods=["POST"]),
    Route("/api/jobs/{job_id}", job_status),
    Route("/api/jobs/{job_id}/events", events),
    Route("/api/jobs/{job_id}/results", results),
    Route("/api/jobs/{job_id}/runs/{index:int}", run_detail),
    Route("/api/jobs/{job_id}/{action}", control, methods=["POST"]),
]


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await asyncio.to_thread(app.state.jobs.stop_all)  # Ctrl-C: training threads end at their next epoch


def create_app(store_path: str | Path, max_running: int | None = None, host: str = "127.0.0.1",
               idle_seconds: float = IDLE_SECONDS, max_streams: tuple[int, int] | None = None,
               pause_seconds: float = PAUSE_SECONDS) -> Starlette:
    """The playground as an ASGI app answering only for `host` (see `guard`); jobs keep
    their results in the SQLite file at store_path. The routes above find the jobs and the
    static files in the app's state."""
    limits = {"max_running": max_running, "max_streams": max_streams}
    app = Starlette(routes=ROUTES, lifespan=lifespan, middleware=[Middleware(Guard, host=host)])
    app.state.jobs = Jobs(Path(store_path), idle_seconds=idle_seconds, pause_seconds=pause_seconds,
                          **{k: v for k, v in limits.items() if v is not None})
    app.state.files = _load_static()
    return app
