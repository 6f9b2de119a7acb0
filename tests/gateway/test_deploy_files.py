"""Deployment files, checked offline: Kubernetes manifests against the official schemas (kubernetes-validate ships
them), cross-references between manifests, the config they carry, the Dockerfile and docker-compose.yml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from cascadeflow.server.app import GatewayApp
from cascadeflow.server.config import GatewayConfig
from cascadeflow.server.gateway import Gateway

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
KINDS = {"ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def manifests() -> dict[str, dict[str, Any]]:
    docs = [d for path in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    return {d["kind"]: d for d in docs}


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_manifest_is_valid_kubernetes(path: Path) -> None:
    version = kubernetes_validate.latest_version()
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, version, strict=True)


def test_manifests_fit_together() -> None:
    found = manifests()
    assert set(found) == KINDS
    deployment, service = found["Deployment"], found["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels == service["spec"]["selector"]
    assert found["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert found["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["envFrom"][0]["secretRef"]["name"] == found["Secret"]["metadata"]["name"]
    assert pod["volumes"][0]["configMap"]["name"] == found["ConfigMap"]["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    config_text = found["ConfigMap"]["data"]["gateway.yaml"]
    env = dict(found["Secret"]["stringData"])
    config = GatewayConfig.from_dict(yaml.safe_load(config_text), environ=env)
    assert config.store.startswith("postgresql://") and config.rate_limit_store.startswith("redis://")
    drain = config.settings.drain_grace_s + config.settings.drain_timeout_s
    assert pod["terminationGracePeriodSeconds"] > drain  # Kubernetes never kills a drain that is still allowed
    assert f"--port\", \"{container['ports'][0]['containerPort']}" in str(container["args"]).replace("'", '"')


def test_strict_validation_catches_mistakes() -> None:
    deployment = manifests()["Deployment"]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/live"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


async def test_probe_paths_are_gateway_routes() -> None:
    found = manifests()
    env = dict(found["Secret"]["stringData"])
    data = yaml.safe_load(found["ConfigMap"]["data"]["gateway.yaml"])
    data.update(store="memory://", rate_limit_store="memory://")  # the stores connect at start: none here
    app = GatewayApp(Gateway(GatewayConfig.from_dict(data, environ=env)))
    container = found["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            reply = await client.get(container[probe]["httpGet"]["path"])
            assert reply.status_code == 200
    await app.gateway.aclose()


def test_compose_and_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    user = re.search(r"^USER (\S+)", final_stage, re.M)
    assert user is not None and user.group(1) not in ("0", "root")
    assert "HEALTHCHECK" in final_stage and "/health" in final_stage and "STOPSIGNAL SIGTERM" in final_stage
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"gateway-1", "gateway-2", "redis", "postgres"} <= set(services)
    gateway_config = yaml.safe_load((ROOT / "deploy" / "gateway.yaml").read_text())
    env = {"OPENAI_API_KEY": "x", "GATEWAY_KEY_TEAM_A": "a", "GATEWAY_KEY_TEAM_B": "b", "POSTGRES_PASSWORD": "p"}
    config = GatewayConfig.from_dict(gateway_config, environ=env)
    assert "@postgres:" in config.store and config.rate_limit_store == "redis://redis:6379/0"
    for name in ("gateway-1", "gateway-2"):
        service = services[name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "/etc/cascadeflow/gateway.yaml" in service["volumes"][0]
    assert "/etc/cascadeflow/gateway.yaml" in dockerfile
