"""`ivr clock`: the Procfile's clock process, or one of its jobs now."""

from __future__ import annotations

from typing import Any

from ivr.app import create_app
from ivr.clock import jobs_for, run_forever
from ivr.services import services_of


def register(sub: Any, common: Any) -> None:
    """`ivr clock`: run the jobs (the Procfile's clock process), or one job now with --once."""
    p = sub.add_parser("clock", parents=[common], help="run the scheduled jobs (the Procfile's clock process)")
    p.add_argument("--once", choices=("coverage", "purge", "watch"), help="run one job now and exit")
    p.set_defaults(handler=_clock_command)


def _clock_command(args: Any) -> int:
    # The clock process serves no webhooks, so it needs no auth token to check signatures.
    settings: dict[str, Any] = {"IVR_RUN_CLOCK": False, "IVR_WEBHOOKS": False}
    if args.config:
        settings["IVR_CONFIG_DIR"] = args.config
    services = services_of(create_app(settings))
    if args.once is None:
        run_forever(services)
        return 0
    jobs, _ = jobs_for(services)
    now = services.clock()
    work = {"coverage": jobs.check_coverage, "purge": jobs.purge, "watch": jobs.watch_routes}[args.once]
    result = work(now)
    print(result if not isinstance(result, list) else ("\n".join(result) or "ok"))
    return 1 if args.once == "coverage" and result else 0
