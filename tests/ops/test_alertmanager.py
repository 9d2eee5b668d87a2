"""deploy/alertmanager: amtool accepts it, labels route where the file says, and a real
Alertmanager running it routes, groups per city, mutes ReportOverdue during a pipeline outage and
mails the numbers.

The live tests load the shipped file and change only what a test machine must: webhook URLs, the
mail relay and the WeCom API point at loopback sinks, the template glob is made absolute, and the
group timers shrink to a second. Routes, grouping, inhibitions and receivers stay as shipped.
"""

from __future__ import annotations

import copy
import email
import email.policy
import json
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from tests.support.alertmanager import Alertmanager
from tests.support.processes import REPO_ROOT, require_binary, wait_until
from tests.support.webhooks import WebhookReceiver

CONFIG = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
TEMPLATE = CONFIG.parent / "templates" / "pacer.tmpl"

BEHIND_DESCRIPTION = (
    "actual 1,200 new sites since 2024-01-01; expected 3,172.5 by now; shortfall 1,972.5; "
    "attainment 0.378 (warning below 0.9, critical below 0.75); target 6,345 new sites by the "
    "end of 2025-12-31 (Asia/Shanghai), 5,145 to go; projected completion 2027-03-02 (trailing "
    "90-day rate 6.10 sites/day)."
)


# --- alerts as Pacer and Prometheus send them ---------------------------------------------------


def target_missed(city: str) -> dict[str, Any]:
    return _alert(
        {"alertname": "FiveGTargetMissed", "severity": "critical", "program": "5g-2025"},
        city=city,
        summary=f"{city.title()} missed 5g-2025: 5,145 sites short of the target",
        description=BEHIND_DESCRIPTION,
    )


def indicator_below(
    city: str, indicator: str = "pon_10g_port_share_pct", severity: str = "warning"
) -> dict[str, Any]:
    return _alert(
        {
            "alertname": "GigabitIndicatorBelowThreshold",
            "severity": severity,
            "program": "gigabit-2024",
            "indicator": indicator,
        },
        city=city,
        summary=f"{city.title()}: {indicator} is 20% on gigabit-2024, needs >= 25%",
        description=f"({indicator}): latest value 20% as of 2024-06-30; rule >= 25%.",
    )


def report_overdue(city: str, severity: str = "warning") -> dict[str, Any]:
    return _alert(
        {"alertname": "ReportOverdue", "severity": severity, "kind": "gigabit"},
        city=city,
        summary=f"{city.title()}'s gigabit report for 2024-06 is overdue (due 2024-07-10)",
        description="No gigabit report for 2024-06, due by the end of 2024-07-10.",
    )


def service_down(service: str = "aggregator") -> dict[str, Any]:
    return _alert(
        {
            "alertname": "PacerServiceDown",
            "severity": "critical",
            "component": "pipeline",
            "service": service,
            "job": f"pacer-{service}",
        },
        summary=f"pacer-{service} is down",
        description="up == 0 for 1m",
    )


def _alert(labels: dict[str, str], summary: str, description: str, **more: str) -> dict[str, Any]:
    return {
        "labels": labels | more,
        "annotations": {"summary": summary, "description": description},
        "startsAt": datetime.now(UTC).isoformat(),
    }


def resolved(alert: dict[str, Any]) -> dict[str, Any]:
    return alert | {"endsAt": datetime.now(UTC).isoformat()}


# --- amtool against the shipped file --------------------------------------------------------------


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("amtool"), *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_amtool_check_config_accepts_the_shipped_file() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_template_glob_resolves_next_to_the_config_file() -> None:
    # amtool passes a glob that matches nothing: check that it matches our template file.
    patterns = yaml.safe_load(CONFIG.read_text())["templates"]
    matched = {path for pattern in patterns for path in CONFIG.parent.glob(pattern)}
    assert matched == {TEMPLATE}


ROUTES = [
    # (labels as amtool takes them, the receivers they reach in order)
    ("alertname=FiveGTargetMissed severity=critical program=5g-2025", "ops-critical,fiveg-team"),
    ("alertname=FiveGBehindPlan severity=warning program=5g-2027", "fiveg-team"),
    ("alertname=FiveGProvinceBehindPlan severity=warning program=5g-2025", "fiveg-team"),
    (
        "alertname=GigabitIndicatorBelowThreshold severity=warning program=gigabit-2024 "
        "indicator=pon_10g_port_share_pct",
        "gigabit-team",
    ),
    (
        "alertname=GigabitStandardNotMet severity=critical program=gigabit-2024",
        "ops-critical,gigabit-team",
    ),
    ("alertname=ReportOverdue severity=warning kind=5g-sites", "fiveg-team"),
    ("alertname=ReportOverdue severity=critical kind=gigabit", "ops-critical,gigabit-team"),
    ("alertname=ReportDueSoon severity=info kind=gigabit", "gigabit-team"),
    ("alertname=ReportDueSoon severity=info kind=5g-sites", "fiveg-team"),
    (
        "alertname=PacerServiceDown severity=critical component=pipeline service=ingest",
        "pipeline-oncall",
    ),
    ("alertname=PacerDeadLetters severity=warning component=pipeline", "pipeline-oncall"),
    (
        "alertname=PacerIngestBackpressure severity=warning component=pipeline service=ingest",
        "pipeline-oncall",
    ),
    ("alertname=SomethingElse severity=warning", "pacer-ops"),
]


@pytest.mark.parametrize(("labels", "receivers"), ROUTES, ids=[r[0].split()[0] for r in ROUTES])
def test_amtool_routes_labels_to_the_receivers_of_their_severity_and_program(
    labels: str, receivers: str
) -> None:
    result = amtool(
        "config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receivers}",
        *labels.split(), "city=jinan",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def render(
    tmp_path: Path,
    template: str,
    alerts: list[dict[str, Any]],
    group_labels: dict[str, str],
    common_labels: dict[str, str] | None = None,
    kind: str = "text",
) -> str:
    """``template`` rendered by amtool with our templates, for one group notification."""
    data = {
        "receiver": "ops-critical",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": group_labels,
        "commonLabels": common_labels or {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org",
    }
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data))
    result = amtool(
        "template", "render", f"--template.glob={TEMPLATE}", f"--template.data={data_file}",
        f"--template.text={template}", f"--template.type={kind}",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("kind", ["subject", "text", "html"])
def test_the_mail_templates_show_the_numbers_and_where_the_alert_applies(
    kind: str, tmp_path: Path
) -> None:
    mail = _receiver(yaml.safe_load(CONFIG.read_text()), "ops-critical")["email_configs"][0]
    text = {"subject": mail["headers"]["Subject"], "text": mail["text"], "html": mail["html"]}[kind]
    firing = target_missed("jinan") | {"status": "firing", "endsAt": "0001-01-01T00:00:00Z"}
    gigabit = indicator_below("jinan") | {"status": "firing", "endsAt": "0001-01-01T00:00:00Z"}
    rendered = render(
        tmp_path,
        text,
        [firing, gigabit],
        {"city": "jinan", "program": "5g-2025"},
        {"city": "jinan"},
        "html" if kind == "html" else "text",
    )
    if kind == "subject":
        assert rendered.strip() == "[FIRING:2] Pacer jinan 5g-2025"
        return
    for number in ("actual 1,200", "expected 3,172.5", "shortfall 1,972.5", "2027-03-02"):
        assert number in rendered
    assert "Jinan missed 5g-2025: 5,145 sites short of the target" in rendered
    assert "city: jinan, program: 5g-2025" in rendered
    assert "indicator: pon_10g_port_share_pct" in rendered


# --- a real Alertmanager running the shipped file -------------------------------------------------


Kept = TypeVar("Kept")


class LoopbackSink(Generic[Kept]):
    """A threaded server on a free loopback port keeping what it receives (``_keep``)."""

    def __init__(self, server: socketserver.ThreadingTCPServer | ThreadingHTTPServer) -> None:
        self._kept: list[Kept] = []
        self._server = server
        self._server.daemon_threads = True
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host_port(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def received(self) -> list[Kept]:
        with self._lock:
            return list(self._kept)

    def _keep(self, item: Kept) -> None:
        with self._lock:
            self._kept.append(item)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class MailSink(LoopbackSink[EmailMessage]):
    """A plain SMTP server on loopback that keeps every message (no TLS, no AUTH)."""

    def __init__(self) -> None:
        sink = self

        class Session(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 pacer-test-mail-sink\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        self.wfile.write(b"250 pacer-test-mail-sink\r\n")
                    elif verb == b"DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        sink._keep(_parsed_mail(self._read_data()))
                        self.wfile.write(b"250 kept\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # MAIL, RCPT, RSET, NOOP
                        self.wfile.write(b"250 ok\r\n")

            def _read_data(self) -> bytes:
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return b"".join(lines)

        super().__init__(socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session))

    @property
    def address(self) -> str:
        return self.host_port


def _parsed_mail(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, _class=EmailMessage, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _receiver(config: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in config["receivers"] if r["name"] == name)
    return found


class WeComSink(LoopbackSink[dict[str, Any]]):
    """WeCom's API as Alertmanager's wechat notifier uses it, on loopback: ``gettoken`` hands out
    an access token for the corp id and secret, ``message/send`` keeps each message."""

    TOKEN = "test-access-token"

    def __init__(self) -> None:
        self.token_requests: list[dict[str, list[str]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/cgi-bin/gettoken":
                    self._answer(404, {"errcode": 404})
                    return
                sink.token_requests.append(parse_qs(url.query))
                self._answer(200, {"errcode": 0, "access_token": sink.TOKEN, "expires_in": 7200})

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if url.path != "/cgi-bin/message/send" or parse_qs(url.query).get(
                    "access_token"
                ) != [sink.TOKEN]:
                    self._answer(200, {"errcode": 40014, "errmsg": "invalid access_token"})
                    return
                sink._keep(json.loads(body))
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

            def _answer(self, status: int, content: dict[str, Any]) -> None:
                data = json.dumps(content).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), Handler))

    @property
    def api_url(self) -> str:
        return f"http://{self.host_port}/cgi-bin/"


def config_for_test(
    webhook_url: str, smtp_address: str, wechat_api_url: str = "http://127.0.0.1:9/cgi-bin/"
) -> dict[str, Any]:
    """The shipped file with loopback endpoints, an absolute template glob and 1 s group timers."""
    config: dict[str, Any] = copy.deepcopy(yaml.safe_load(CONFIG.read_text()))
    config["templates"] = [str(CONFIG.parent / pattern) for pattern in config["templates"]]
    config["global"] |= {"smtp_smarthost": smtp_address, "smtp_require_tls": False}
    config["global"]["wechat_api_url"] = wechat_api_url
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
    routes = [config["route"]]
    while routes:
        route = routes.pop()
        for timer in ("group_wait", "group_interval"):
            if timer in route:
                route[timer] = "1s"
        routes.extend(route.get("routes", []))
    return config


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def mail() -> Iterator[MailSink]:
    with MailSink() as sink:
        yield sink


@pytest.fixture
def wecom() -> Iterator[WeComSink]:
    with WeComSink() as sink:
        yield sink


@pytest.fixture
def alertmanager(
    tmp_path: Path, webhook: WebhookReceiver, mail: MailSink, wecom: WeComSink
) -> Iterator[Alertmanager]:
    config = config_for_test(webhook.url, mail.address, wecom.api_url)
    started = Alertmanager(tmp_path / "alertmanager", config).start()
    yield started
    started.stop()


def post(alertmanager: Alertmanager, *alerts: dict[str, Any]) -> None:
    response = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=list(alerts), timeout=5)
    response.raise_for_status()


def notifications(webhook: WebhookReceiver, receiver: str | None = None) -> list[dict[str, Any]]:
    bodies = [r.json() for r in webhook.received]
    return [b for b in bodies if receiver is None or b["receiver"] == receiver]


def alertnames(body: dict[str, Any]) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in body["alerts"])


def in_alertmanager(alertmanager: Alertmanager, alertname: str) -> dict[str, Any]:
    return next(a for a in alertmanager.alerts() if a["labels"]["alertname"] == alertname)


def test_each_alert_reaches_the_receivers_of_its_severity_and_program(
    alertmanager: Alertmanager, webhook: WebhookReceiver
) -> None:
    post(alertmanager, target_missed("jinan"), indicator_below("qingdao"), service_down())

    expected = {"ops-critical", "fiveg-team", "gigabit-team", "pipeline-oncall"}
    wait_until(lambda: {b["receiver"] for b in notifications(webhook)} == expected, timeout=15)
    time.sleep(1.5)  # a group timer more: nothing else arrives
    routed = sorted((b["receiver"], alertnames(b)) for b in notifications(webhook))
    assert routed == [
        ("fiveg-team", ["FiveGTargetMissed"]),
        ("gigabit-team", ["GigabitIndicatorBelowThreshold"]),
        ("ops-critical", ["FiveGTargetMissed"]),
        ("pipeline-oncall", ["PacerServiceDown"]),
    ]
    assert all(b["status"] == "firing" and b["version"] == "4" for b in notifications(webhook))


def test_alerts_of_one_city_share_a_notification_and_other_cities_get_their_own(
    alertmanager: Alertmanager, webhook: WebhookReceiver
) -> None:
    post(
        alertmanager,
        indicator_below("jinan", "pon_10g_port_share_pct"),
        indicator_below("jinan", "user_5g_share_pct"),
        indicator_below("qingdao", "pon_10g_port_share_pct"),
    )

    wait_until(lambda: len(notifications(webhook, "gigabit-team")) >= 2, timeout=15)
    time.sleep(1.5)
    by_city = {b["groupLabels"]["city"]: b for b in notifications(webhook, "gigabit-team")}
    assert len(notifications(webhook)) == 2, "one notification per city"
    assert by_city["jinan"]["groupLabels"] == {"city": "jinan", "program": "gigabit-2024"}
    assert sorted(a["labels"]["indicator"] for a in by_city["jinan"]["alerts"]) == [
        "pon_10g_port_share_pct",
        "user_5g_share_pct",
    ]
    assert by_city["qingdao"]["groupLabels"] == {"city": "qingdao", "program": "gigabit-2024"}
    assert len(by_city["qingdao"]["alerts"]) == 1


@pytest.mark.parametrize("down", [None, "exporter"], ids=["nothing-down", "exporter-down"])
def test_report_overdue_is_delivered_unless_an_outage_explains_it(
    alertmanager: Alertmanager, webhook: WebhookReceiver, down: str | None
) -> None:
    if down is not None:  # the exporter has nothing to do with reports arriving
        post(alertmanager, service_down(down))
        wait_until(lambda: notifications(webhook, "pipeline-oncall"), timeout=15)
    post(alertmanager, report_overdue("jinan"))

    wait_until(lambda: notifications(webhook, "gigabit-team"), timeout=15)
    assert alertnames(notifications(webhook, "gigabit-team")[0]) == ["ReportOverdue"]
    overdue = in_alertmanager(alertmanager, "ReportOverdue")
    assert overdue["status"] == {"state": "active", "inhibitedBy": [], "silencedBy": []}


@pytest.mark.parametrize("down", ["ingest", "aggregator", "alerting"])
def test_a_pipeline_outage_mutes_report_overdue_until_it_resolves(
    alertmanager: Alertmanager, webhook: WebhookReceiver, down: str
) -> None:
    outage = service_down(down)
    post(alertmanager, outage)
    wait_until(lambda: notifications(webhook, "pipeline-oncall"), timeout=15)
    outage_fingerprint = in_alertmanager(alertmanager, "PacerServiceDown")["fingerprint"]

    # qingdao's indicator is a witness: posted after the overdue report on the same route, its
    # delivery means the overdue report's group has been flushed (or muted) by then.
    post(alertmanager, report_overdue("jinan"))
    post(alertmanager, indicator_below("qingdao"))
    wait_until(lambda: notifications(webhook, "gigabit-team"), timeout=15)
    time.sleep(1.5)
    overdue = in_alertmanager(alertmanager, "ReportOverdue")
    assert overdue["status"]["state"] == "suppressed"
    assert overdue["status"]["inhibitedBy"] == [outage_fingerprint]
    delivered = [name for body in notifications(webhook) for name in alertnames(body)]
    assert "ReportOverdue" not in delivered

    post(alertmanager, resolved(outage))
    wait_until(
        lambda: any("ReportOverdue" in alertnames(b) for b in notifications(webhook)), timeout=15
    )
    assert in_alertmanager(alertmanager, "ReportOverdue")["status"]["inhibitedBy"] == []


def test_a_warning_is_muted_while_its_critical_twin_fires_and_not_otherwise(
    alertmanager: Alertmanager, webhook: WebhookReceiver
) -> None:
    criticals = [
        indicator_below("jinan", severity="critical"),
        report_overdue("jinan", "critical"),  # no program: it still pairs with its twin
    ]
    twins = [indicator_below("jinan"), report_overdue("jinan")]
    unpaired = [
        indicator_below("jinan", "user_5g_share_pct"),  # another indicator
        indicator_below("qingdao"),  # another city
        report_overdue("qingdao"),
    ]
    post(alertmanager, *criticals, *twins, *unpaired)

    def listed() -> dict[tuple[str, ...], dict[str, Any]]:
        return {key(a): a for a in alertmanager.alerts()}

    def delivered() -> set[tuple[str, ...]]:
        return {key(a) for b in notifications(webhook, "gigabit-team") for a in b["alerts"]}

    wait_until(lambda: all(listed()[key(t)]["status"]["inhibitedBy"] for t in twins), timeout=15)
    now = listed()
    for twin, critical in zip(twins, criticals, strict=True):
        assert now[key(twin)]["status"]["state"] == "suppressed"
        assert now[key(twin)]["status"]["inhibitedBy"] == [now[key(critical)]["fingerprint"]]
    for alert in [*criticals, *unpaired]:
        assert now[key(alert)]["status"] == {"state": "active", "inhibitedBy": [], "silencedBy": []}
    expected = {key(a) for a in [*criticals, *unpaired]}
    wait_until(lambda: delivered() == expected, timeout=15)
    time.sleep(1.5)  # a group timer more: the twins stay muted
    assert delivered() == expected

    post(alertmanager, *(resolved(c) for c in criticals))
    wait_until(lambda: not any(listed()[key(t)]["status"]["inhibitedBy"] for t in twins), 15)
    assert all(listed()[key(t)]["status"]["state"] == "active" for t in twins)
    wait_until(lambda: {key(t) for t in twins} <= delivered(), timeout=15)


def key(alert: dict[str, Any]) -> tuple[str, ...]:
    labels = alert["labels"]
    return tuple(labels.get(name, "") for name in ("alertname", "severity", "city", "indicator"))


def test_critical_alerts_are_mailed_with_the_numbers_and_again_when_resolved(
    alertmanager: Alertmanager, mail: MailSink
) -> None:
    alert = target_missed("jinan")
    post(alertmanager, alert)
    wait_until(lambda: mail.received(), timeout=15)
    post(alertmanager, resolved(alert))
    wait_until(lambda: len(mail.received()) >= 2, timeout=15)

    firing, resolution = mail.received()[:2]
    assert firing["Subject"] == "[FIRING:1] Pacer jinan 5g-2025"
    assert firing["To"] == "pacer-ops-critical@example.org"
    text = _part(firing, "text/plain")
    assert "Jinan missed 5g-2025: 5,145 sites short of the target" in text
    assert "shortfall 1,972.5" in text
    assert "projected completion 2027-03-02" in text
    assert "city: jinan, program: 5g-2025" in text
    assert "shortfall 1,972.5" in _part(firing, "text/html")
    assert resolution["Subject"] == "[RESOLVED] Pacer jinan 5g-2025"
    assert "Resolved (1)" in _part(resolution, "text/plain")


def test_critical_alerts_reach_the_ops_wecom_application_with_the_numbers(
    alertmanager: Alertmanager, wecom: WeComSink
) -> None:
    alert = target_missed("jinan")
    post(alertmanager, alert, indicator_below("qingdao"))  # a warning: not for ops-critical
    wait_until(lambda: wecom.received(), timeout=15)
    post(alertmanager, resolved(alert))
    wait_until(lambda: len(wecom.received()) >= 2, timeout=15)

    shipped = _receiver(yaml.safe_load(CONFIG.read_text()), "ops-critical")["wechat_configs"][0]
    firing, resolution = wecom.received()[:2]
    assert wecom.token_requests[0]["corpid"] == [
        yaml.safe_load(CONFIG.read_text())["global"]["wechat_api_corp_id"]
    ]
    assert wecom.token_requests[0]["corpsecret"] == [shipped["api_secret"]]
    assert (firing["agentid"], firing["toparty"], firing["msgtype"]) == ("1000002", "2", "text")
    text = firing["text"]["content"]
    assert text.startswith("[FIRING:1] Pacer jinan 5g-2025\n")
    assert "【CRITICAL】Jinan missed 5g-2025: 5,145 sites short of the target" in text
    assert "shortfall 1,972.5" in text and "projected completion 2027-03-02" in text
    assert "qingdao" not in text
    assert len(text.encode()) <= 2048
    assert resolution["text"]["content"].startswith("[RESOLVED] Pacer jinan 5g-2025")


def test_the_wecom_message_writes_out_five_alerts_and_counts_the_rest(tmp_path: Path) -> None:
    firing = [
        indicator_below("jinan", f"indicator_{n}")
        | {"status": "firing", "endsAt": "0001-01-01T00:00:00Z"}
        for n in range(7)
    ]
    message = '{{ template "pacer.wechat.message" . }}'
    rendered = render(tmp_path, message, firing, {"city": "jinan", "program": "gigabit-2024"})
    assert rendered.count("【WARNING】") == 5
    assert "and 7 firing in all" in rendered
    assert len(rendered.encode()) <= 2048


def _part(message: EmailMessage, content_type: str) -> str:
    part = message.get_body(preferencelist=(content_type.split("/")[1],))
    assert part is not None and part.get_content_type() == content_type
    content: str = part.get_content()
    return content
