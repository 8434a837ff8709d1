"""``soundstage serve``: the web page to build, hear and download scenes, on this machine."""

from __future__ import annotations

import argparse

from soundstage.cli.main import path_argument
from soundstage.threads import usable_cores


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``serve`` sub-command to the ``soundstage`` parser."""
    serve = commands.add_parser(
        "serve",
        help="start the web page (upload a photo, video, sounds or a prompt; drag sources; render; download)",
        description="Serve the Soundstage page and its API (OpenAPI at /docs). Listens on 127.0.0.1 unless "
        "--host says otherwise; opens no browser by itself.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=min(2, usable_cores()),
        help="jobs that run at once (default 2, or 1 on a one-core machine)",
    )
    serve.add_argument(
        "--data-dir",
        type=path_argument,
        help="uploads and results (default $SOUNDSTAGE_CACHE/serve or ~/.cache/soundstage/serve)",
    )
    from soundstage.web.limits import MIB, Limits  # the standard library only: cheap at start-up

    defaults = Limits()
    hours = defaults.keep_seconds / 3600.0
    serve.add_argument(
        "--keep-hours",
        type=float,
        default=hours,
        help=f"remove uploads and results unused this long (default {hours:g})",
    )
    megabytes = defaults.max_upload_bytes / MIB
    serve.add_argument(
        "--max-upload-mb", type=float, default=megabytes, help=f"largest upload in MiB (default {megabytes:g})"
    )
    seconds = defaults.max_render_seconds
    serve.add_argument(
        "--max-render-seconds", type=float, default=seconds, help=f"longest render (default {seconds:g} s)"
    )
    sources = defaults.max_sources
    serve.add_argument(
        "--max-sources", type=int, default=sources, help=f"most sources in one render (default {sources})"
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Handler of ``soundstage serve``."""
    from soundstage.errors import ParameterError

    try:
        import uvicorn

        from soundstage.web.app import create_app
        from soundstage.web.limits import MIB, Limits
    except ImportError as error:
        raise ParameterError(
            f"soundstage serve needs the web extra ({error.name} is missing): pip install 'soundstage[web]'"
        ) from None
    if args.workers < 1:
        raise ParameterError(f"--workers {args.workers}: give at least 1")
    if not 0 < args.port < 65536:
        raise ParameterError(f"--port {args.port}: give a port from 1 to 65535")
    for option, value in (
        ("--keep-hours", args.keep_hours),
        ("--max-upload-mb", args.max_upload_mb),
        ("--max-render-seconds", args.max_render_seconds),
        ("--max-sources", args.max_sources),
    ):
        if not value > 0:
            raise ParameterError(f"{option} {value:g}: give a number above 0")
    limits = Limits(
        max_upload_bytes=int(args.max_upload_mb * MIB),
        max_render_seconds=args.max_render_seconds,
        max_sources=args.max_sources,
        keep_seconds=args.keep_hours * 3600.0,
    )
    from soundstage.web.guards import LOOPBACK_HOSTS

    # On this machine only, the server answers to its loopback names only (no DNS rebinding); on a network
    # address the operator's names are not known here, so any Host is answered.
    loopback = args.host in LOOPBACK_HOSTS
    app = create_app(
        args.data_dir, limits=limits, workers=args.workers, allowed_hosts=LOOPBACK_HOSTS if loopback else None
    )
    print(f"soundstage: serving http://{args.host}:{args.port} (API docs at /docs); Ctrl-C stops", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
