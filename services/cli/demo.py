"""``pacer demo``: 16 cities reporting 2024-01 to 2025-12 against a real Pacer, in about a minute.

With ``--start`` it runs its own ``pacer up`` (embedded Redis, tokens and log in a temporary or
given directory) on an accelerated clock it steers (``demo_system.ClockControl``,
``demo_pacing``), plays the simulation, shows what happened and stops the system (``--keep``
leaves it running). Without ``--start`` it drives the Pacer at ``--server``/``PACER_API_URL``
with ``--token``/``PACER_TOKEN`` (an admin token), following that server's clock as
``GET /v1/.../progress`` reports it: start that Pacer with an accelerated ``PACER_CLOCK``
(``offset:2024-01-01T00:00:00+08:00;speed=500000``) or it takes two years; that clock runs on by
itself, and a report that reaches Pacer after its due day fails the run."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from services.cli.api_client import ApiUnavailableError, PacerClient
from services.cli.demo_alerts import AlertWatch
from services.cli.demo_clock import ServerClock, StoryClock
from services.cli.demo_driver import DemoApi, Driver, NotAllowedError, Outcome, day
from services.cli.demo_pacing import Pacing
from services.cli.demo_report import (
    alert_story,
    cities_table,
    notification_line,
    record,
    role_alert,
    story_lines,
    totals_agree,
)
from services.cli.demo_simulation import Scenario, simulate
from services.cli.demo_system import (
    DAYS_PER_MONTH,
    SECONDS_PER_DAY,
    ClockControl,
    LocalPacer,
    alert_timing_env,
    clock_speed,
    local_pacer,
)
from shared.domain.calendar import Period, due_instant
from shared.domain.targets import Targets
from shared.targets import load_targets

ROLLOUT = "5g-2025"
SETTLE_TIMEOUT_S = 30.0
RESOLVE_HOLD_DAYS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Simulate the 16 cities reporting monthly from 2024-01 to 2025-12 against a real Pacer, "
        "on an accelerated clock: metrics move, alerts fire and resolve."
    )
    parser.add_argument("--seed", type=int, default=1, help="the same seed plays the same story")
    parser.add_argument("--start", action="store_true", help="run a private pacer up for the demo")
    parser.add_argument("--keep", action="store_true", help="with --start: leave Pacer running")
    parser.add_argument("--var-dir", help="with --start: Redis, tokens, log (default: a temp dir)")
    parser.add_argument(
        "--free-ports",
        action="store_true",
        help="with --start: free ports even if the usual 8000-8002 and 9108 are free",
    )
    parser.add_argument(
        "--seconds-per-month",
        type=float,
        default=2.5,
        metavar="S",
        help="with --start: real seconds per simulated month (default 2.5: a minute in all)",
    )
    parser.add_argument(
        "--resolve-hold-days",
        type=float,
        default=RESOLVE_HOLD_DAYS,
        metavar="D",
        help="with --start: PACER_RESOLVE_HOLD in simulated days (default 1: a city is judged "
        "on the day its figures cover, so its standing changes only with a report or a due day "
        "and nothing flaps between them)",
    )
    parser.add_argument("--until", metavar="YYYY-MM", help="stop after this month's reports")
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="write what happened as JSON: the parts, every alert seen (labels, when it fired "
        "and resolved on the server's clock), the notifications, the reports",
    )
    parser.add_argument("--webhook", metavar="URL", help="subscribe this URL to the alerts")
    parser.add_argument("--webhook-secret", help="its HMAC secret (default: generated, printed)")
    parser.add_argument("--server", help="Pacer's API (default: $PACER_API_URL or :8000)")
    parser.add_argument("--token", help="an admin token (default: $PACER_TOKEN)")


@dataclass
class Target:
    """The Pacer the demo drives."""

    client: PacerClient
    city_tokens: dict[str, str]
    speed: float | None
    local: LocalPacer | None = None
    viewer_token: str | None = None
    """A read-only token worth printing (only a private Pacer's)."""
    control: ClockControl | None = None
    """The demo's hand on a private Pacer's clock."""


def _start_local(args: argparse.Namespace, console: Console) -> Target:
    var = Path(args.var_dir) if args.var_dir else Path(tempfile.mkdtemp(prefix="pacer-demo-"))
    if (var / "tokens.yaml").exists():
        console.print(f"[yellow]{var} holds an earlier Pacer: its data stays and mixes in.[/]")
    timing = alert_timing_env(args.seconds_per_month, args.resolve_hold_days)
    if args.webhook and (host := urlsplit(args.webhook).hostname):
        # The private Pacer may post to the receiver given, typically one on this machine.
        timing["PACER_WEBHOOK_ALLOWED_HOSTS"] = host
    var.mkdir(parents=True, exist_ok=True)
    # The clock stands at the story's first day until the demo lets it run (every service ready).
    control = ClockControl(var.resolve() / "clock.control", clock_speed(args.seconds_per_month))
    local = local_pacer(var, control.spec, timing, usual_ports=not args.free_ports)
    console.print(f"Starting pacer up in {local.var} (log: {local.log_path})")
    console.print(f"  PACER_CLOCK={control.spec}")
    console.print("  " + " ".join(f"{k}={v}" for k, v in timing.items()))
    local.start()
    try:
        local.wait_ready()
        tokens = local.tokens()
    except BaseException:
        local.stop()
        raise
    admin = next(token for name, (token, city) in tokens.items() if name == "admin")
    city_tokens = {city: token for token, city in tokens.values() if city is not None}
    viewer = tokens.get("viewer", (None, None))[0]
    client = PacerClient(local.url("ingest"), admin)
    return Target(client, city_tokens, control.speed, local, viewer, control)


def _subscribe(client: PacerClient, url: str, secret: str | None, console: Console) -> None:
    secret = secret or secrets.token_urlsafe(24)
    body = {"url": url, "secret": secret, "send_resolved": True}
    response = client.request("POST", "/v1/subscriptions", json=body)
    if response.status_code != 201:
        problem = f"HTTP {response.status_code} {response.text[:300]}"
        console.print(f"[red]Subscribing {url} failed:[/] {escape(problem)}")
        return
    subscription = response.json()["id"]
    deliveries = f"{client.base_url}/v1/subscriptions/{subscription}/deliveries"
    console.print(f"Webhook: {url} subscribed (id {subscription}, secret {secret})")
    console.print(f"  its deliveries: {deliveries} (admin token)")


def _settle(api: DemoApi, expected: dict[str, int], driver: Driver) -> bool:
    """Wait until the server holds the simulated totals; a few more alert polls after that."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not totals_agree(api.progress(), expected, ROLLOUT):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    for _ in range(4):
        time.sleep(0.3)
        driver.poll(force=True)
    return True


def _play(
    target: Target, scenario: Scenario, targets: Targets, args: argparse.Namespace, console: Console
) -> int:
    client = target.client
    client.on_retry = lambda what, delay: console.print(
        f"[yellow]{what}: retrying in {delay:.1f} s[/]"
    )
    probe = scenario.submissions[0].city if scenario.submissions else "jinan"
    api = DemoApi(client, probe, target.city_tokens)
    if args.webhook:
        _subscribe(client, args.webhook, args.webhook_secret, console)
    driver = _driver(target, scenario, targets, api, console)
    for line in story_lines(scenario.roles, scenario.seed):
        console.print(line)
    # A private Pacer's clock runs only while the driver waits for the story's next moment: it
    # stands at the end too, so no month after the story makes every city overdue.
    outcome = driver.run(scenario)
    expected = scenario.excluding({s.report_id for s in outcome.unreachable}).new_in_service()
    agreed = _settle(api, expected, driver)
    if driver.story_ends is not None and driver.clock.now() >= driver.story_ends:
        console.print(
            f"[yellow]The server's clock passed the end of the story ({day(driver.story_ends)}) "
            "before Pacer had applied every report: the alerts after it are left out.[/]"
        )
    console.print(cities_table(api.progress(), expected, scenario.roles))
    console.print("What happened to the cities with a part, and to the province:")
    for line in alert_story(driver.watch, scenario.roles):
        console.print(line)
    notifications = target.local.notifications() if target.local is not None else None
    if target.local is not None:
        console.print(notification_line(notifications, target.local.url("alerting")))
    if args.record:
        story = record(scenario, driver.watch, notifications, outcome)
        Path(args.record).write_text(json.dumps(story, indent=1) + "\n", encoding="utf-8")
    _where_to_look(target, console)
    return _verdict(outcome, agreed, console)


def _driver(
    target: Target, scenario: Scenario, targets: Targets, api: DemoApi, console: Console
) -> Driver:
    """The driver on the server's clock: steered for a private Pacer, else measured."""
    due_day = targets.reporting.due_day
    clock: StoryClock
    pacing = None
    if target.control is not None:
        clock = target.control
        months = sorted({s.period for s in scenario.submissions})
        pacing = Pacing(
            target.control,
            api.applied_periods,
            [due_instant(month, due_day) for month in months],
            console.print,
        )
        console.print(
            f"Clock: stands at {day(clock.now())}; it runs at {target.control.speed:,.0f}x real "
            f"time (a month in {DAYS_PER_MONTH * SECONDS_PER_DAY / target.control.speed:.1f} s) "
            "while the demo waits for the story's next moment, and stands while it works."
        )
    else:
        server = ServerClock(api.server_now, speed=target.speed)
        speed = server.calibrate()
        last = scenario.submissions[-1].at if scenario.submissions else server.now()
        wait = server.real_seconds_until(last)
        took = "never: the clock is fixed" if wait is None else f"about {wait:.0f} s"
        console.print(
            f"Server clock: {day(server.now())}, {speed:,.0f}x real time; "
            f"the last report ({day(last)}) goes out in {took}."
        )
        clock = server
    return Driver(
        api,
        clock,
        AlertWatch(api.alerts),
        console.print,
        partial(role_alert, scenario.roles),
        story_ends=scenario.story_ends(due_day),
        due_day=due_day,
        first_due_period=targets.reporting.start,
        pacing=pacing,
    )


def _where_to_look(target: Target, console: Console) -> None:
    api = target.client.base_url
    console.print("Where to look:")
    if target.local is not None:
        console.print(f"  metrics      {target.local.url('exporter')}/metrics")
    token = target.viewer_token or "$PACER_TOKEN"
    console.print(f'  progress     curl -H "Authorization: Bearer {token}" {api}/v1/progress')
    console.print(f"  alerts       {api}/v1/alerts (same token)")
    console.print(f"  terminal     PACER_API_URL={api} PACER_TOKEN={token} pacer status")
    console.print(f"  API docs     {api}/docs")


def _verdict(outcome: Outcome, agreed: bool, console: Console) -> int:
    console.print(
        f"Reports: {outcome.accepted} accepted, {outcome.duplicates} already there, "
        f"{len(outcome.rejected)} rejected, {len(outcome.unreachable)} not sent."
    )
    if outcome.unreachable:
        console.print("[yellow]The server's clock never reaches the rest (a fixed clock?).[/]")
    if outcome.after_due:
        console.print(
            f"[red]{len(outcome.after_due)} reports the story sends on time reached Pacer after "
            "their due day: the demo fell behind the clock, and the alerts above are not the "
            "story's. Run it slower (--seconds-per-month 5) or on a quieter machine.[/]"
        )
    if not agreed:
        console.print("[red]The server's totals differ from the simulation's (see the table).[/]")
    failed = outcome.rejected or outcome.unreachable or outcome.after_due
    return 0 if agreed and not failed else 1


def _keep_running(
    local: LocalPacer, speed: float, story_ends: datetime | None, console: Console
) -> None:
    overdue = f" from {day(story_ends)} on" if story_ends is not None else " soon"
    console.print(
        f"Pacer keeps running in {local.var} (Ctrl-C stops it). Its clock runs on at "
        f"{speed:,.0f}x and no more reports come:{overdue} every city is overdue."
    )
    try:
        while local.process is not None and local.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo as Ctrl-C does: its Pacer too, cleanly


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=max(console.width, 120))
    if not args.start and (args.keep or args.var_dir or args.free_ports):
        console.print("pacer demo: --keep, --var-dir and --free-ports go with --start")
        return 2
    targets_file = os.environ.get("PACER_TARGETS_FILE")
    targets = load_targets(Path(targets_file) if targets_file else None)
    scenario = simulate(targets, args.seed)
    if args.until:
        scenario = scenario.until(Period.parse(args.until))
    story_ends = scenario.story_ends(targets.reporting.due_day)
    target = _start_local(args, console) if args.start else _remote(args)
    try:
        code = _play(target, scenario, targets, args, console)
        if target.local is not None and args.keep:
            if target.control is not None:
                target.control.run()
            _keep_running(target.local, target.speed or 1.0, story_ends, console)
        return code
    except ApiUnavailableError as exc:
        console.print(f"[red]Pacer stopped answering: {escape(str(exc))}[/]")
        return 1
    except NotAllowedError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return 1
    except KeyboardInterrupt:
        console.print("Interrupted.")
        return 130
    finally:
        target.client.close()
        if target.local is not None:
            target.local.stop()
            if not args.var_dir:  # a temporary directory: nothing in it outlives the demo
                shutil.rmtree(target.local.var, ignore_errors=True)


def _remote(args: argparse.Namespace) -> Target:
    return Target(PacerClient.from_env(args.server, args.token), {}, None)
