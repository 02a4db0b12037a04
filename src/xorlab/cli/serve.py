"""`xorlab serve`: the web playground on a local server, until Ctrl-C."""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import sys
import threading
import webbrowser

from .options import UsageError, int_at_least

LOOPBACK = "127.0.0.1"


def port_arg(text: str) -> int:
    value = int_at_least(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535 (got {text!r})")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="a web playground: train many seeds live in the browser",
        description="Start a local web server with the playground: pick a preset or settings, "
        "train up to 500 seeds at once and watch every loss curve, the success rate with its "
        "95%% interval, failure modes and a seed's decision map update live. Results are kept "
        "in a results store in your cache folder, so a setting trained once comes back at once. "
        "Ctrl-C stops the server.",
        epilog="examples:\n  xorlab serve\n  xorlab serve --port 8080 --open",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default=LOOPBACK,
                   help=f"address to listen on; anything but loopback lets other machines train "
                   f"on yours (default: {LOOPBACK})")
    p.add_argument("--port", type=port_arg, default=8000, help="port; 0 picks a free one (default: 8000)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser (default: off)")
    p.add_argument("--store", metavar="FILE", default=None,
                   help="the results store (SQLite) (default: playground.sqlite in the user's cache "
                   "folder, e.g. ~/.cache/xorlab)")
    p.set_defaults(func=run, prog="xorlab serve")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warm_up() -> None:
    from ..config import RunConfig
    from ..engines import run_many

    run_many([RunConfig(seed=0, epochs=1)])


def announce_on_startup(server, store, open_page: bool) -> None:
    """Once the server listens: print its address (the port may have been picked) and
    open the page if asked."""
    original_startup = server.startup

    async def startup(sockets=None):
        await original_startup(sockets=sockets)
        if server.started:
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
            print(f"xorlab playground: {url}  (results store: {store}; Ctrl-C stops)", flush=True)
            if open_page:
                webbrowser.open(url)

    server.startup = startup


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from ..engines import ENGINE_MODULES, resolve
    from ..serve import default_store_path
    from ..serve.app import create_app
    from ..store import Store, StoreError
    store = args.store or default_store_path()
    try:
        Store(store).close()  # a bad store file is a one-line error now, not in the first job
    except (OSError, StoreError) as err:
        raise UsageError(f"{args.prog}: error: argument --store: {err}") from None
    # The default engine's module, loaded now rather than by the first job (a first
    # epoch sooner on screen).
    importlib.import_module(ENGINE_MODULES[resolve("auto")])
    # ...and its programs loaded (from the compilation cache, or compiled) in the
    # background while the page loads: a one-epoch run whose result is dropped.
    warming = threading.Thread(target=warm_up, name="xorlab-warm-up", daemon=True)
    warming.start()
    if not is_loopback(args.host):
        print(f"xorlab serve: warning: listening on {args.host}: anyone who can reach this machine "
              "can use the playground (and its CPU)", file=sys.stderr)
    config = uvicorn.Config(create_app(store, host=args.host), host=args.host, port=args.port, log_level="warning",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    announce_on_startup(server, store, args.open)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn has shut down gracefully, then re-raises Ctrl-C
        pass
    # A warm-up still compiling must end before the interpreter does: a thread inside
    # XLA when Python shuts down aborts the process.
    warming.join()
    print("xorlab playground: stopped", file=sys.stderr)
    return 0
