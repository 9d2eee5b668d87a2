"""Packaging and deployment: docker-compose.yml, the Dockerfile and deploy/k8s.

No Docker engine here: docker-compose validates and resolves the compose file offline, kubectl
renders the kustomize overlays offline, and kubernetes-validate checks every rendered object
against the Kubernetes schemas it ships. The compose health checks are run for real, against
real Pacer services.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic import ValidationError

from services.cli.main import SERVICES
from services.ingest.auth import TokenBook
from shared.settings import Settings
from shared.store.redis_url import parse_sentinel_url
from shared.targets import load_targets
from tests.support.processes import REPO_ROOT, Service, free_port, require_binary

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
COMPOSE_HA_ENV = REPO_ROOT / "deploy" / "compose-ha.env"
HA_SERVICES = ("redis-replica", "sentinel-1", "sentinel-2", "sentinel-3")
"""Profile ``ha`` of the compose file (listed by ``config`` whatever the profile)."""
DOCKERFILE = REPO_ROOT / "Dockerfile"
K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production", "ha")
HA_OVERLAY = K8S / "overlays" / "ha"
SHIPPED_TARGETS = REPO_ROOT / "shared" / "targets" / "default.yaml"
KUBERNETES_VERSION = "1.29"
"""The oldest Kubernetes the manifests are meant for (autoscaling/v2, policy/v1, ...)."""

REQUIRED_COMPOSE_VARIABLES = ("PACER_TOKENS_FILE", "GRAFANA_ADMIN_PASSWORD")
PORTS = {"ingest": 8000, "aggregator": 8001, "alerting": 8002, "exporter": 9108, "portal": 8003}
PORT_VARIABLES = {
    "ingest": "PACER_API_PORT",
    "aggregator": "PACER_AGGREGATOR_PORT",
    "alerting": "PACER_ALERTING_PORT",
    "exporter": "PACER_EXPORTER_PORT",
    "portal": "PACER_PORTAL_PORT",
}
REDIS_SERVICES = tuple(name for name in SERVICES if name != "portal")
"""The services that use Redis; the portal reaches the ingest API and nothing else."""
PINNED_TAG = re.compile(r"^[\w./-]+:v?\d+\.\d+\.\d+[\w.-]*$")
"""name:MAJOR.MINOR.PATCH[-variant]: a release, never `latest` or a moving `7`/`3.11`."""

Doc = dict[str, Any]


# --- docker-compose.yml ---------------------------------------------------------------------


def _compose(
    args: list[str], tmp_path: Path, env: dict[str, str], env_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """docker-compose with only ``env`` (and PATH, and ``env_file`` if given): no developer's
    variables or .env leak in."""
    if env_file is None:
        env_file = tmp_path / "empty.env"
        env_file.write_text("")
    return subprocess.run(
        [
            require_binary("docker-compose"),
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE_FILE),
            *args,
        ],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _required_env(tmp_path: Path) -> dict[str, str]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("tokens: []\n")
    return {"PACER_TOKENS_FILE": str(tokens), "GRAFANA_ADMIN_PASSWORD": "test-password"}


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Doc:
    """The compose file as docker-compose resolves it (anchors merged, variables set)."""
    tmp_path = tmp_path_factory.mktemp("compose")
    result = _compose(["config"], tmp_path, _required_env(tmp_path))
    assert result.returncode == 0, result.stderr
    resolved: Doc = yaml.safe_load(result.stdout)
    return resolved


def test_compose_config_is_valid_with_the_required_variables(tmp_path: Path) -> None:
    result = _compose(["config", "-q"], tmp_path, _required_env(tmp_path))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", REQUIRED_COMPOSE_VARIABLES)
def test_compose_config_fails_naming_a_missing_required_variable(
    tmp_path: Path, missing: str
) -> None:
    env = _required_env(tmp_path)
    del env[missing]
    result = _compose(["config", "-q"], tmp_path, env)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.fixture(scope="module")
def compose_ha(tmp_path_factory: pytest.TempPathFactory) -> Doc:
    """The compose file resolved with deploy/compose-ha.env: profile ``ha``."""
    tmp_path = tmp_path_factory.mktemp("compose-ha")
    result = _compose(["config"], tmp_path, _required_env(tmp_path), env_file=COMPOSE_HA_ENV)
    assert result.returncode == 0, result.stderr
    resolved: Doc = yaml.safe_load(result.stdout)
    return resolved


def test_compose_ha_profile_is_valid_with_its_env_file(tmp_path: Path) -> None:
    result = _compose(["config", "-q"], tmp_path, _required_env(tmp_path), env_file=COMPOSE_HA_ENV)
    assert result.returncode == 0, result.stderr
    settings = dict(
        line.split("=", 1)
        for line in COMPOSE_HA_ENV.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert settings["COMPOSE_PROFILES"] == "ha"


def test_compose_ha_profile_adds_a_replica_and_three_sentinels_watching_redis(
    compose_ha: Doc,
) -> None:
    services = compose_ha["services"]
    for name in HA_SERVICES:
        assert services[name]["profiles"] == ["ha"], name
        assert services[name]["image"] == services["redis"]["image"], name
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert "profiles" not in services["redis"], "redis is the first primary in both setups"
    replica = services["redis-replica"]["command"]
    primary = services["redis"]["command"]
    assert replica[replica.index("--replicaof") + 1 :][:2] == ["redis", "6379"]
    for option in ("--appendonly", "--appendfsync", "--save", "--maxmemory-policy"):
        assert replica[replica.index(option) + 1] == primary[primary.index(option) + 1], option
    # Each node is announced by its service name, so a failover survives new container addresses.
    assert replica[replica.index("--replica-announce-ip") + 1] == "redis-replica"
    assert primary[primary.index("--replica-announce-ip") + 1] == "redis"
    names, volumes = set(), set()
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        sentinel = services[name]
        script = sentinel["command"][-1]
        assert "sentinel monitor pacer redis 6379 2" in script
        assert "sentinel down-after-milliseconds pacer 5000" in script
        assert "exec redis-sentinel /data/sentinel.conf" in script
        assert sentinel["user"] == "redis"
        names.add(sentinel["environment"]["SENTINEL_NAME"])
        volumes.update(v.split(":")[0] for v in sentinel["volumes"])
    assert names == {"sentinel-1", "sentinel-2", "sentinel-3"}
    assert len(volumes) == 3 and volumes <= set(compose_ha["volumes"])


def test_compose_ha_profile_points_every_pacer_service_at_the_sentinels(compose_ha: Doc) -> None:
    services = compose_ha["services"]
    for name in REDIS_SERVICES:
        env = services[name]["environment"]
        url = parse_sentinel_url(env["PACER_REDIS_URL"])
        assert url is not None, name
        assert {host for host, _ in url.sentinels} == {"sentinel-1", "sentinel-2", "sentinel-3"}
        assert {port for _, port in url.sentinels} == {26379}
        assert (url.service_name, url.db) == ("pacer", 0)
        assert env["PACER_REDIS_MIN_REPLICAS"] == "1"
        Settings(redis_url=env["PACER_REDIS_URL"], redis_min_replicas=1)


def test_compose_runs_every_pacer_service_from_the_local_image(compose: Doc) -> None:
    services = compose["services"]
    images = set()
    for name in SERVICES:
        service = services[name]
        assert Path(service["build"]["context"]) == REPO_ROOT, name
        assert service["command"] == ["serve", name]
        images.add(service["image"])
    assert len(images) == 1, f"one image for every Pacer service, got {images}"


def test_compose_pins_every_other_image_to_a_release(compose: Doc) -> None:
    others = {name: s for name, s in compose["services"].items() if name not in SERVICES}
    assert set(others) == {"redis", "prometheus", "alertmanager", "grafana", *HA_SERVICES}
    for name, service in others.items():
        assert "build" not in service, name
        assert PINNED_TAG.match(service["image"]), f"{name}: {service['image']} is not pinned"
    assert others["grafana"]["image"] == "grafana/grafana:11.6.0"


def test_compose_redis_keeps_an_append_only_file_on_a_volume(compose: Doc) -> None:
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(v.startswith("redis-data:/data") for v in redis["volumes"])
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])


def test_compose_gives_every_service_a_health_check(compose: Doc) -> None:
    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    for name in SERVICES:
        command = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert "/readyz" in command and PORT_VARIABLES[name] in command, name


def test_compose_start_order_waits_for_health(compose: Doc) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency]
    for name in REDIS_SERVICES:
        assert "redis" in services[name]["depends_on"], name
    assert set(services["portal"]["depends_on"]) == {"ingest"}
    assert "alertmanager" in services["alerting"]["depends_on"]
    assert "prometheus" in services["grafana"]["depends_on"]


def test_compose_configures_the_pacer_services_for_containers(compose: Doc) -> None:
    services = compose["services"]
    consumer_names = set()
    for name in SERVICES:
        assert services[name]["environment"]["PACER_BIND"] == "0.0.0.0"
        assert services[name]["read_only"] is True
    for name in REDIS_SERVICES:
        env = services[name]["environment"]
        assert env["PACER_REDIS_URL"] == "redis://redis:6379/0"
        assert env["PACER_REDIS_MIN_REPLICAS"] == "0"
        consumer_names.add(env["PACER_CONSUMER_NAME"])
    assert len(consumer_names) == len(REDIS_SERVICES), "a consumer name of its own per service"
    portal = services["portal"]["environment"]
    assert "PACER_REDIS_URL" not in portal and "PACER_TOKENS_FILE" not in portal
    assert portal["PACER_API_URL"] == "http://ingest:8000"
    assert services["alerting"]["environment"]["PACER_ALERTMANAGER_URL"] == (
        "http://alertmanager:9093"
    )
    ingest = services["ingest"]
    assert ingest["environment"]["PACER_TOKENS_FILE"] == "/run/secrets/pacer_tokens"
    assert [s["source"] for s in ingest["secrets"]] == ["pacer_tokens"]


def test_compose_publishes_ports_on_loopback_only(compose: Doc) -> None:
    published = {
        name: service["ports"]
        for name, service in compose["services"].items()
        if "ports" in service
    }
    assert set(published) == {"ingest", "portal", "prometheus", "alertmanager", "grafana"}
    for name, ports in published.items():
        for port in ports:
            text = port if isinstance(port, str) else f"{port.get('host_ip')}:{port['published']}"
            assert text.startswith("127.0.0.1:"), f"{name}: {port}"


def test_compose_keeps_state_in_named_volumes(compose: Doc) -> None:
    named = set(compose["volumes"])
    for name, target in {
        "redis": "/data",
        "prometheus": "/prometheus",
        "alertmanager": "/alertmanager",
        "grafana": "/var/lib/grafana",
    }.items():
        sources = {
            v.split(":")[0] for v in compose["services"][name]["volumes"] if f":{target}:" in v
        }
        assert sources and sources <= named, f"{name}: {target} is not on a named volume"


def test_compose_mounts_files_that_exist(compose: Doc) -> None:
    """The monitoring configs are bind mounts: a renamed file would start a container without it."""
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("/"):
                assert Path(source).exists(), f"{name}: {source} does not exist"
    grafana_env = compose["services"]["grafana"]["environment"]
    home = grafana_env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    dashboards = "/var/lib/grafana/dashboards/pacer/"
    assert home.startswith(dashboards)
    on_host = REPO_ROOT / "deploy" / "grafana" / "dashboards" / home.removeprefix(dashboards)
    assert json.loads(on_host.read_text())["uid"] == "pacer-province"


@pytest.fixture
def healthchecked_services(
    make_service: Callable[..., Service], service_env: dict[str, str]
) -> Iterator[list[Service]]:
    services = [make_service(name, service_env, start=False) for name in REDIS_SERVICES]
    ingest_url = next(service.url for service in services if service.name == "ingest")
    services.append(make_service("portal", {**service_env, "PACER_API_URL": ingest_url}, False))
    for service in services:
        service.start(wait=False)
    for service in services:
        service.wait_ready()
    yield services


def _run_health_check(test: list[str], port_variable: str, port: int) -> int:
    assert test[:2] == ["CMD", "python"], test  # the slim image has python, not curl
    argv = [sys.executable, *test[2:]]
    env = {"PATH": os.environ["PATH"], port_variable: str(port)}
    return subprocess.run(argv, env=env, capture_output=True, timeout=30).returncode


def test_compose_health_checks_pass_on_ready_services_and_fail_without_them(
    compose: Doc, healthchecked_services: list[Service]
) -> None:
    for service in healthchecked_services:
        test = compose["services"][service.name]["healthcheck"]["test"]
        variable = PORT_VARIABLES[service.name]
        assert _run_health_check(test, variable, service.port) == 0, service.name
        assert _run_health_check(test, variable, free_port()) != 0, service.name


# --- Dockerfile -----------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_builds_from_a_pinned_python_3_11_slim() -> None:
    bases = [args.split()[0] for op, args in _instructions() if op == "FROM"]
    assert bases, "no FROM"
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base


def test_dockerfile_runs_pacer_as_a_non_root_user() -> None:
    instructions = _instructions()
    final_stage = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [args for op, args in final_stage if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["pacer"]') in final_stage
    commands = [json.loads(args) for op, args in final_stage if op == "CMD"]
    assert commands == [["serve", "ingest"]]
    env = " ".join(args for op, args in final_stage if op == "ENV")
    assert "PACER_BIND=0.0.0.0" in env


def test_dockerfile_exposes_the_default_port_of_every_service() -> None:
    exposed = {int(port) for op, args in _instructions() if op == "EXPOSE" for port in args.split()}
    fields = Settings.model_fields.items()
    defaults = {name: field.default for name, field in fields if name.endswith("_port")}
    assert set(defaults.values()) == exposed, defaults


def test_dockerfile_copies_the_packages_and_dockerignore_keeps_them() -> None:
    copied = {
        args.split()[0]
        for op, args in _instructions()
        if op == "COPY" and not args.startswith("--from")
    }
    assert {"pyproject.toml", "shared", "services"} <= copied
    ignored = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for source in copied:
        assert (REPO_ROOT / source).exists(), source
        assert source not in ignored, f".dockerignore drops {source}, which the image needs"
    assert {".git", ".venv", "var"} <= ignored


def test_dockerfile_installs_the_locked_versions_and_records_the_revision() -> None:
    instructions = _instructions()
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "pip install --require-hashes --no-deps -r requirements.lock" in runs
    assert "pip install --no-deps ." in runs  # Pacer itself: nothing unlocked comes with it
    assert ("ARG", "PACER_REVISION=unknown") in instructions
    assert 'echo "$PACER_REVISION" > shared/REVISION' in runs
    assert "pacer --version" in runs


# --- deploy/k8s -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Doc]]:
    kubectl = require_binary("kubectl")
    manifests = {}
    for overlay in OVERLAYS:
        result = subprocess.run(
            [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"{overlay}: {result.stderr}"
        manifests[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return manifests


def _of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def _named(docs: list[Doc], kind: str, name: str) -> Doc:
    [doc] = [d for d in _of_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def _pacer_deployments(docs: list[Doc]) -> dict[str, Doc]:
    return {
        d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in _of_kind(docs, "Deployment")
        if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/name") == "pacer"
    }


def _container(deployment: Doc) -> Doc:
    containers: list[Doc] = deployment["spec"]["template"]["spec"]["containers"]
    [container] = containers
    return container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_against_the_kubernetes_schemas(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    assert docs
    problems = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{where}: {exc.message}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_a_deployment_service_and_disruption_budget(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    deployments = _pacer_deployments(docs)
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        pods = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pods.items()
        service = _named(docs, "Service", f"pacer-{name}")
        assert service["spec"]["selector"].items() <= pods.items()
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
        budget = _named(docs, "PodDisruptionBudget", f"pacer-{name}")
        assert budget["spec"]["selector"]["matchLabels"].items() <= pods.items()
        assert _container(deployment)["args"] == ["serve", name]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_probes_resources_and_a_stable_consumer_name(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    for name, deployment in _pacer_deployments(rendered[overlay]).items():
        container = _container(deployment)
        [port] = container["ports"]
        assert port == {"name": "http", "containerPort": PORTS[name]}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name} {bound}"
        env = {e["name"]: e for e in container["env"]}
        if name == "portal":  # no Redis: the API through its Service, and nothing else
            assert set(env) == {"PACER_API_URL"}
            assert env["PACER_API_URL"]["value"] == "http://pacer-ingest:8000"
            continue
        consumer = env["PACER_CONSUMER_NAME"]["valueFrom"]["fieldRef"]
        assert consumer["fieldPath"] == "metadata.name", name
        redis_url = env["PACER_REDIS_URL"]["valueFrom"]["secretKeyRef"]
        assert redis_url["name"].startswith("pacer-redis") and redis_url["key"] == "url"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_non_root_on_a_read_only_root_filesystem(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    for name, deployment in _pacer_deployments(rendered[overlay]).items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        # Service links would set PACER_EXPORTER_PORT=tcp://... (see the settings test below).
        assert pod["enableServiceLinks"] is False, name
        assert pod["automountServiceAccountToken"] is False, name
        security = _container(deployment)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name


def test_service_links_would_be_read_as_pacer_port_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What Kubernetes injects for a Service named pacer-exporter, were service links on."""
    monkeypatch.setenv("PACER_EXPORTER_PORT", "tcp://10.0.0.7:9108")
    with pytest.raises(ValidationError, match="exporter_port"):
        Settings()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingest_autoscaler_targets_the_ingest_deployment(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    [autoscaler] = _of_kind(docs, "HorizontalPodAutoscaler")
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
    ingest = _pacer_deployments(docs)["ingest"]
    assert target["name"] == ingest["metadata"]["name"]
    assert "replicas" not in ingest["spec"], "the autoscaler owns the ingest replica count"
    assert 1 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
    assert "cpu" in _container(ingest)["resources"]["requests"]  # utilization needs a request


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_single_exporter_so_province_sums_are_not_doubled(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    exporter = _pacer_deployments(rendered[overlay])["exporter"]
    assert exporter["spec"]["replicas"] == 1
    assert exporter["spec"]["strategy"]["type"] == "Recreate"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_carry_prometheus_scrape_annotations(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    for name, deployment in _pacer_deployments(rendered[overlay]).items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(PORTS[name]),
            "prometheus.io/path": "/metrics",
        }


def _relabel(rules: list[Doc], labels: dict[str, str]) -> dict[str, str] | None:
    """Prometheus relabelling (keep and replace) of one target; None when dropped."""
    labels = dict(labels)
    for rule in rules:
        value = rule.get("separator", ";").join(labels.get(s, "") for s in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if action == "keep":
            if not match:
                return None
        elif action == "replace":
            if match:
                template = re.sub(r"\$(\d+)", r"\\g<\1>", rule.get("replacement", "$1"))
                labels[rule["target_label"]] = match.expand(template)
        else:
            raise AssertionError(f"unsupported relabel action {action}")
    return labels


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_kubernetes_scrape_job_gives_each_pod_its_job_name(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    [job] = yaml.safe_load((K8S / "prometheus-scrape.yml").read_text())["scrape_configs"]
    for name, deployment in _pacer_deployments(rendered[overlay]).items():
        template = deployment["spec"]["template"]
        [port] = _container(deployment)["ports"]
        target = {
            "__address__": f"10.1.2.3:{port['containerPort']}",
            "__meta_kubernetes_namespace": deployment["metadata"]["namespace"],
            "__meta_kubernetes_pod_name": f"pacer-{name}-5d8f7-abcde",
            "__meta_kubernetes_pod_container_port_name": port["name"],
        }
        for key, value in template["metadata"]["labels"].items():
            target[f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', key)}"] = value
        for key, value in template["metadata"]["annotations"].items():
            target[f"__meta_kubernetes_pod_annotation_{re.sub(r'[^a-zA-Z0-9_]', '_', key)}"] = value
        labels = _relabel(job["relabel_configs"], target)
        assert labels is not None, f"{name} is not scraped"
        assert labels["job"] == f"pacer-{name}"
        assert labels["__address__"] == f"10.1.2.3:{PORTS[name]}"
        assert labels["__metrics_path__"] == "/metrics"


def test_the_targets_configmap_holds_the_shipped_targets_file(
    rendered: dict[str, list[Doc]],
) -> None:
    shipped = SHIPPED_TARGETS.read_text(encoding="utf-8")
    copy = K8S / "base" / "targets" / "default.yaml"
    assert copy.read_text(encoding="utf-8") == shipped, (
        f"{copy} differs from {SHIPPED_TARGETS}; refresh it: cp {SHIPPED_TARGETS} {copy}"
    )
    for overlay, docs in rendered.items():
        [config] = [d for d in _of_kind(docs, "ConfigMap") if d["data"].get("PACER_TARGETS_FILE")]
        path = Path(config["data"]["PACER_TARGETS_FILE"])
        for deployment in _pacer_deployments(docs).values():
            pod = deployment["spec"]["template"]["spec"]
            mount = next(
                m
                for m in _container(deployment)["volumeMounts"]
                if m["mountPath"] == str(path.parent)
            )
            volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
            targets = _named(docs, "ConfigMap", volume["configMap"]["name"])
            assert targets["data"][path.name] == shipped, overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_config_reference_resolves_and_secrets_come_from_outside_in_production(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    config_maps = {d["metadata"]["name"] for d in _of_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"] for d in _of_kind(docs, "Secret")}
    referenced_secrets = set()
    for name, deployment in _pacer_deployments(docs).items():
        pod = deployment["spec"]["template"]["spec"]
        container = _container(deployment)
        for source in container.get("envFrom", []):
            assert source["configMapRef"]["name"] in config_maps, name
        for volume in pod["volumes"]:
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, name
            if "secret" in volume:
                referenced_secrets.add(volume["secret"]["secretName"])
        for variable in container["env"]:
            if "secretKeyRef" in variable.get("valueFrom", {}):
                referenced_secrets.add(variable["valueFrom"]["secretKeyRef"]["name"])
    if overlay == "production":
        assert not secrets, "production must not ship secrets: they are created in the cluster"
        assert referenced_secrets == {"pacer-redis", "pacer-tokens"}
    elif overlay == "ha":
        # Production's, but the Redis URL names its own sentinels (and holds no password).
        assert referenced_secrets - secrets == {"pacer-tokens"}
        assert [s for s in secrets if s.startswith("pacer-redis")] == sorted(secrets)
    else:
        assert referenced_secrets <= secrets


def test_only_ingest_reads_the_tokens_secret_and_the_dev_example_loads(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["dev"]
    for name, deployment in _pacer_deployments(docs).items():
        pod = deployment["spec"]["template"]["spec"]
        secret_volumes = [v for v in pod["volumes"] if "secret" in v]
        env = {e["name"]: e.get("value") for e in _container(deployment)["env"]}
        if name != "ingest":
            assert not secret_volumes and "PACER_TOKENS_FILE" not in env, name
            continue
        [volume] = secret_volumes
        [mount] = [m for m in _container(deployment)["volumeMounts"] if m["name"] == volume["name"]]
        tokens_path = Path(env["PACER_TOKENS_FILE"])
        assert str(tokens_path.parent) == mount["mountPath"] and mount["readOnly"] is True
        secret = _named(docs, "Secret", volume["secret"]["secretName"])
        assert set(secret["data"]) == {tokens_path.name}
    example = K8S / "overlays" / "dev" / "tokens.example.yaml"
    TokenBook.load(example, set(load_targets(None).cities))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_to_a_tag(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for kind in ("Deployment", "StatefulSet"):
        for doc in _of_kind(rendered[overlay], kind):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                image = container["image"]
                assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image


# --- deploy/k8s/overlays/ha: Redis with Sentinel -------------------------------------------


def test_the_ha_overlay_runs_three_redis_pods_each_with_a_sentinel_from_one_script(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["ha"]
    redis = _named(docs, "StatefulSet", "pacer-redis")
    assert redis["spec"]["replicas"] == 3
    assert redis["spec"]["serviceName"] == "pacer-redis"
    pod = redis["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"redis", "sentinel"}
    script = HA_OVERLAY / "pacer-redis.sh"
    [scripts] = [v for v in pod["volumes"] if v["name"] == "scripts"]
    config = _named(docs, "ConfigMap", scripts["configMap"]["name"])
    assert config["data"]["pacer-redis.sh"] == script.read_text()
    for role, container in containers.items():
        assert container["command"] == ["sh", "/scripts/pacer-redis.sh", role]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env == {"STATEFULSET": "pacer-redis", "REDIS_SERVICE": "pacer-redis"}
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/data", "/scripts"}
        assert "readinessProbe" in container and "livenessProbe" in container
    assert containers["redis"]["lifecycle"]["preStop"]["exec"]["command"][-1] == "pre-stop"
    assert pod["securityContext"]["runAsNonRoot"] is True
    text = script.read_text()
    for option in ("--appendonly yes", "--appendfsync everysec", '--save ""', "noeviction"):
        assert option in text, option
    assert "sentinel monitor ${SERVICE_NAME} $(primary) 6379 2" in text
    assert "SERVICE_NAME=pacer" in text


def test_the_ha_overlay_names_each_pod_through_a_headless_service_guarded_by_a_policy(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["ha"]
    redis = _named(docs, "StatefulSet", "pacer-redis")
    pods = redis["spec"]["template"]["metadata"]["labels"]
    service = _named(docs, "Service", "pacer-redis")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert service["spec"]["selector"].items() <= pods.items()
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
        "redis": 6379,
        "sentinel": 26379,
    }
    budget = _named(docs, "PodDisruptionBudget", "pacer-redis")
    assert budget["spec"]["maxUnavailable"] == 1
    policy = _named(docs, "NetworkPolicy", "pacer-redis")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pods.items()
    [pacer, redis_pods] = [f["podSelector"] for f in policy["spec"]["ingress"][0]["from"]]
    assert redis_pods["matchLabels"].items() <= pods.items()
    for name, deployment in _pacer_deployments(docs).items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert _selects(pacer, labels) == (name in REDIS_SERVICES), name


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    """A label selector's matchLabels and its In/NotIn matchExpressions against pod labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        inside = labels.get(expression["key"]) in expression["values"]
        if inside != (expression["operator"] == "In"):
            return False
    return True


def test_the_ha_overlay_points_pacer_at_every_sentinel_and_waits_for_a_replica(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["ha"]
    [secret] = [d for d in _of_kind(docs, "Secret") if d["metadata"]["name"].startswith("pacer-")]
    url = parse_sentinel_url(base64.b64decode(secret["data"]["url"]).decode())
    assert url is not None
    assert set(url.sentinels) == {(f"pacer-redis-{i}.pacer-redis", 26379) for i in range(3)}
    assert (url.service_name, url.db, url.password) == ("pacer", 0, None)
    [config] = [d for d in _of_kind(docs, "ConfigMap") if d["data"].get("PACER_TARGETS_FILE")]
    assert config["data"]["PACER_REDIS_MIN_REPLICAS"] == "1"
    assert config["data"]["PACER_PUBLIC_URL"] == "https://pacer.example.org"  # production's
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "pacer", doc["metadata"]["name"]
