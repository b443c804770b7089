"""The Kubernetes manifests in deploy/k8s, checked offline: no kubectl, no cluster.

The kustomizations are rendered by a small renderer below (only the kustomize features the
manifests use; any other field fails the render, so nothing is silently skipped), and every
rendered object is validated against the Kubernetes OpenAPI schemas that ``kubernetes-validate``
bundles, in strict mode (unknown fields are errors). The Strimzi KafkaTopics and the Prometheus
Operator's PrometheusRule, ServiceMonitor and PodMonitor, CRDs those schemas lack, are validated
against strimzi-kafkatopic-v1beta2.schema.json and prometheus-operator-v1.schema.json beside this
file (test_observability.py checks what the monitoring resources say). Then:
the topics are exactly the contracts registry's; each service has its API (Deployment, Service,
PodDisruptionBudget, HorizontalPodAutoscaler), workers and migration Job; every pod is probed,
sized and unprivileged; and every environment variable set is one its settings class reads.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import AliasChoices, AliasPath, SecretStr

from vitrina_contracts.registry import RETRY_STAGES, TOPICS
from vitrina_kit.kafka import topic_names
from vitrina_kit.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = {"base": BASE, "production": K8S / "overlays" / "production"}
TOPICS_FILE = BASE / "topics" / "kafka-topics.yaml"
KAFKA_TOPIC_SCHEMA = Path(__file__).with_name("strimzi-kafkatopic-v1beta2.schema.json")
MONITORING_SCHEMA = Path(__file__).with_name("prometheus-operator-v1.schema.json")
MONITORING_KINDS = {"PrometheusRule", "ServiceMonitor", "PodMonitor"}

# The oldest Kubernetes the manifests claim (matchLabelKeys, autoscaling/v2, policy/v1 are all
# there by then) and the newest whose schemas the library bundles.
KUBERNETES_VERSIONS = ("1.29", kubernetes_validate.utils.latest_version())

SETTINGS = {
    "identity": "IdentitySettings",
    "catalog": "CatalogSettings",
    "orders": "OrdersSettings",
    "billing": "BillingSettings",
    "integrations": "IntegrationsSettings",
}
SERVICES = list(SETTINGS)
PORTS = {"identity": 8001, "catalog": 8002, "orders": 8003, "billing": 8004, "integrations": 8005}
COMMANDS = {"migrate", "topics", "api", "consumer", "relay", "run"}  # vitrina_kit.service.main

Manifest = dict[str, Any]


# --- a minimal kustomize ---------------------------------------------------------------------


class UnsupportedKustomization(Exception):
    """The kustomization uses a feature this renderer does not implement."""


_KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
}
# What kustomize's `replicas` field scales (a PodDisruptionBudget of the same name is left alone).
_SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}
_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
# Strategic merge: lists of objects merge by these keys (as the Kubernetes API types declare
# them); every other list is replaced whole.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}


def render(directory: Path) -> list[Manifest]:
    """``kustomize build directory`` for the subset of kustomize the manifests use."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - _KUSTOMIZATION_FIELDS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects.extend(render(path) if path.is_dir() else load_documents(path))
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in _CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    for label_set in kustomization.get("labels", []):
        if set(label_set) - {"pairs"}:  # includeSelectors / includeTemplates: not implemented
            raise UnsupportedKustomization(f"{directory}: labels {sorted(label_set)}")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label_set["pairs"])
    for patch in kustomization.get("patches", []):
        _apply_patch(directory, patch, objects)
    for replica in kustomization.get("replicas", []):
        targets = [
            o
            for o in objects
            if o["kind"] in _SCALABLE and o["metadata"]["name"] == replica["name"]
        ]
        if not targets:
            raise UnsupportedKustomization(f"{directory}: replicas of unknown {replica['name']}")
        for obj in targets:
            obj["spec"]["replicas"] = replica["count"]
    for image in kustomization.get("images", []):
        _set_image(image, objects)
    _check_unique(directory, objects)
    return objects


def load_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _apply_patch(directory: Path, patch: dict[str, Any], objects: list[Manifest]) -> None:
    if set(patch) - {"path", "target"} or "path" not in patch:
        raise UnsupportedKustomization(f"{directory}: patch {patch}")
    documents = load_documents(directory / patch["path"])
    if len(documents) != 1:  # kustomize's `patches` takes one patch per file
        raise UnsupportedKustomization(f"{directory}: {patch['path']} holds {len(documents)}")
    body = documents[0]
    target = patch.get("target")
    if target is None:  # the patch names its object
        matches = [
            o
            for o in objects
            if o["kind"] == body["kind"]
            and o["metadata"]["name"] == body["metadata"]["name"]
            and o["metadata"].get("namespace") == body["metadata"].get("namespace")
        ]
    else:
        matches = [o for o in objects if _selected(o, target)]
    if not matches:
        raise UnsupportedKustomization(f"{directory}: {patch['path']} matches nothing")
    for obj in matches:
        patched = strategic_merge(obj, {k: v for k, v in body.items() if k != "metadata"})
        patched["metadata"] = strategic_merge(
            obj["metadata"],
            {k: v for k, v in body["metadata"].items() if k not in ("name", "namespace")},
        )
        obj.clear()
        obj.update(patched)


def _selected(obj: Manifest, target: dict[str, str]) -> bool:
    if set(target) - {"kind", "name", "labelSelector"}:
        raise UnsupportedKustomization(f"patch target {target}")
    if "kind" in target and obj["kind"] != target["kind"]:
        return False
    if "name" in target and obj["metadata"]["name"] != target["name"]:
        return False
    labels = obj["metadata"].get("labels", {})
    for requirement in filter(None, target.get("labelSelector", "").split(",")):
        key, _, value = requirement.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def strategic_merge(original: Any, patch: Any, key: str = "") -> Any:
    """``patch`` merged into ``original`` the way a strategic merge patch is (without
    ``$patch`` directives: a key set to null is removed)."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for name, value in patch.items():
            if isinstance(name, str) and name.startswith("$"):
                raise UnsupportedKustomization(f"directive {name}")
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = strategic_merge(merged[name], value, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    merge_key = _MERGE_KEYS.get(key)
    if isinstance(original, list) and isinstance(patch, list) and merge_key:
        merged_list = copy.deepcopy(original)
        for item in patch:
            index = next(
                (i for i, old in enumerate(merged_list) if old[merge_key] == item[merge_key]), None
            )
            if index is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[index] = strategic_merge(merged_list[index], item)
        return merged_list
    return copy.deepcopy(patch)


def _set_image(image: dict[str, str], objects: list[Manifest]) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise UnsupportedKustomization(f"image {image}")
    for container in _containers(objects):
        name, _, tag = container["image"].partition(":")
        if name == image["name"]:
            container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"


def _check_unique(directory: Path, objects: list[Manifest]) -> None:
    seen: set[tuple[str, str | None, str]] = set()
    for obj in objects:
        identity = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if identity in seen:
            raise UnsupportedKustomization(f"{directory}: {identity} twice (kustomize refuses)")
        seen.add(identity)


def _containers(objects: list[Manifest]) -> Iterator[dict[str, Any]]:
    for obj in objects:
        pod = pod_spec(obj)
        if pod is not None:
            yield from pod.get("initContainers", [])
            yield from pod["containers"]


def pod_spec(obj: Manifest) -> dict[str, Any] | None:
    if obj["kind"] in ("Deployment", "Job"):
        spec: dict[str, Any] = obj["spec"]["template"]["spec"]
        return spec
    return None


# --- the rendered manifests ------------------------------------------------------------------


@pytest.fixture(scope="module", params=list(OVERLAYS))
def rendered(request: pytest.FixtureRequest) -> list[Manifest]:
    return render(OVERLAYS[request.param])


@pytest.fixture(scope="module")
def production() -> list[Manifest]:
    return render(OVERLAYS["production"])


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def secret_template(service: str) -> Manifest:
    (secret,) = load_documents(BASE / "services" / service / "secret.template.yaml")
    return secret


def matches_selector(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# --- schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(
    rendered: list[Manifest], version: str
) -> None:
    kafka_topic = json.loads(KAFKA_TOPIC_SCHEMA.read_text(encoding="utf-8"))
    monitoring = json.loads(MONITORING_SCHEMA.read_text(encoding="utf-8"))
    errors = []
    for obj in rendered:
        where = f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        try:
            if obj["kind"] == "KafkaTopic":
                jsonschema.validate(obj, kafka_topic)
            elif obj["kind"] in MONITORING_KINDS:
                jsonschema.validate(obj, monitoring)
            else:
                kubernetes_validate.validate(obj, version, strict=True)
        except (jsonschema.ValidationError, kubernetes_validate.utils.SchemaNotFoundError) as e:
            errors.append(f"{where}: {getattr(e, 'message', e)}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("service", SERVICES)
def test_secret_templates_are_valid_and_hold_no_secret(service: str) -> None:
    secret = secret_template(service)
    kubernetes_validate.validate(secret, KUBERNETES_VERSIONS[-1], strict=True)
    assert secret["metadata"]["name"] == f"{service}-secrets"
    assert "data" not in secret, "templates use stringData, placeholders readable"
    for name, value in secret["stringData"].items():
        assert "REPLACE_ME" in value, f"{name}: a template holds placeholders only"


def test_secrets_are_never_rendered(rendered: list[Manifest]) -> None:
    # Applying a placeholder Secret would overwrite the real one.
    assert not of_kind(rendered, "Secret")


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("configMapGenerator: []\n", encoding="utf-8")
    with pytest.raises(UnsupportedKustomization):
        render(tmp_path)


def test_strategic_merge_merges_containers_by_name_and_replaces_other_lists() -> None:
    original = {"containers": [{"name": "a", "args": ["x"], "image": "i"}, {"name": "b"}]}
    patch = {"containers": [{"name": "a", "args": ["y"]}]}
    assert strategic_merge(original, patch) == {
        "containers": [{"name": "a", "args": ["y"], "image": "i"}, {"name": "b"}]
    }


# --- topics ----------------------------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_topics", K8S / "generate_topics.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_topics_are_what_the_generator_writes() -> None:
    generator = _generator()
    expected = generator.render(generator.topic_resources())
    assert TOPICS_FILE.read_text(encoding="utf-8") == expected, (
        "deploy/k8s/base/topics/kafka-topics.yaml is stale: "
        "run .venv/bin/python deploy/k8s/generate_topics.py"
    )


def test_the_topics_are_exactly_the_registry_with_retry_and_dead_letter_topics(
    rendered: list[Manifest],
) -> None:
    topics = {t["spec"]["topicName"]: t for t in of_kind(rendered, "KafkaTopic")}
    expected = {}
    for topic in TOPICS:
        for name in (topic.name, *topic.retry_topics, topic.dlq):
            expected[name] = topic
    assert set(topics) == set(expected)
    # ... and the very set the services create for themselves when a topic is missing.
    assert set(topics) == set(topic_names(TOPICS, retry_stages=RETRY_STAGES))
    for name, topic in expected.items():
        spec = topics[name]["spec"]
        assert topics[name]["metadata"]["name"] == name
        assert spec["partitions"] == topic.partitions, name
        assert spec["config"].get("retention.ms") == topic.retention_ms, name
        assert spec["replicas"] >= spec["config"]["min.insync.replicas"] + 1, name
        assert topics[name]["metadata"]["labels"]["strimzi.io/cluster"] == "vitrina"
        assert topics[name]["metadata"]["namespace"] == "kafka"


# --- workloads -------------------------------------------------------------------------------


def _workloads(objects: list[Manifest]) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    for obj in objects:
        pod = pod_spec(obj)
        if pod is not None:
            yield obj, pod


def test_every_pod_runs_unprivileged_with_resources_and_a_writable_tmp(
    rendered: list[Manifest],
) -> None:
    for obj, pod in _workloads(rendered):
        name = obj["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name  # the images' user
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), (name, kind)
            (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], name


def test_every_deployment_is_probed_on_the_health_endpoints(rendered: list[Manifest]) -> None:
    for deployment in of_kind(rendered, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["topologySpreadConstraints"], name
        for container in pod["containers"]:
            ports = {p["name"] for p in container["ports"]}
            paths = {}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in container, f"{name}: no {probe}"
                assert container[probe]["httpGet"]["port"] in ports, (name, probe)
                paths[probe] = container[probe]["httpGet"]["path"]
            assert paths == {
                "startupProbe": "/health/live",
                "livenessProbe": "/health/live",  # never the dependencies: no restart storms
                "readinessProbe": "/health/ready",
            }, name


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_its_api_workers_and_migration(
    rendered: list[Manifest], service: str
) -> None:
    api = find(rendered, "Deployment", f"{service}-api")
    worker = find(rendered, "Deployment", f"{service}-worker")
    job = find(rendered, "Job", f"{service}-migrate")
    for obj, command in ((api, "api"), (worker, "run"), (job, "migrate")):
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [command], obj["metadata"]["name"]
        assert container["image"].rpartition(":")[0].endswith(service), obj["metadata"]["name"]
        ports = [p["containerPort"] for p in container.get("ports", [])]
        # The worker's /metrics is on its HTTP port too (`run`): the PodMonitor scrapes it there.
        assert ports in ([], [PORTS[service]]), obj["metadata"]["name"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # The autoscaler owns the API's replica count: a `replicas` here would reset it on apply.
    assert "replicas" not in api["spec"]

    api_labels = api["spec"]["template"]["metadata"]["labels"]
    worker_labels = worker["spec"]["template"]["metadata"]["labels"]
    assert matches_selector(api["spec"]["selector"]["matchLabels"], api_labels)
    assert matches_selector(worker["spec"]["selector"]["matchLabels"], worker_labels)

    svc = find(rendered, "Service", f"{service}-api")
    assert matches_selector(svc["spec"]["selector"], api_labels)
    assert not matches_selector(svc["spec"]["selector"], worker_labels), "workers get no traffic"
    (port,) = svc["spec"]["ports"]
    assert port["targetPort"] == "http"

    pdb = find(rendered, "PodDisruptionBudget", f"{service}-api")
    assert matches_selector(pdb["spec"]["selector"]["matchLabels"], api_labels)
    assert not matches_selector(pdb["spec"]["selector"]["matchLabels"], worker_labels)
    worker_pdb = find(rendered, "PodDisruptionBudget", f"{service}-worker")
    assert matches_selector(worker_pdb["spec"]["selector"]["matchLabels"], worker_labels)

    hpa = find(rendered, "HorizontalPodAutoscaler", f"{service}-api")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{service}-api",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # A drain must be able to proceed at the autoscaler's floor.
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["minAvailable"]


def test_every_object_is_in_the_vitrina_namespace_but_the_topics(rendered: list[Manifest]) -> None:
    find(rendered, "Namespace", "vitrina")
    for obj in rendered:
        if obj["kind"] in ("Namespace", "KafkaTopic"):
            continue
        assert obj["metadata"]["namespace"] == "vitrina", obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "vitrina"


# --- settings --------------------------------------------------------------------------------


def settings_class(service: str) -> type[ServiceSettings]:
    cls: type[ServiceSettings] = getattr(
        importlib.import_module(f"{service}.settings"), SETTINGS[service]
    )
    return cls


def accepted_env_names(cls: type[ServiceSettings]) -> dict[str, str]:
    """Every environment variable ``cls`` reads -> its field: the field's alias when it has one
    (no prefix then), else env_prefix + field name; upper-cased (settings are case-insensitive)."""
    prefix = cls.model_config.get("env_prefix", "")
    names: dict[str, str] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias or field.alias
        if alias is None:
            names[f"{prefix}{field_name}"] = field_name
        elif isinstance(alias, str):
            names[alias] = field_name
        elif isinstance(alias, AliasChoices):
            for choice in alias.choices:
                names[str(choice if isinstance(choice, str) else choice.path[0])] = field_name
        elif isinstance(alias, AliasPath):
            names[str(alias.path[0])] = field_name
    return {name.upper(): field_name for name, field_name in names.items()}


def secret_fields(cls: type[ServiceSettings]) -> set[str]:
    """Fields that must come from a Secret: the SecretStr ones and the database URL (it holds
    the password)."""
    return {"database_url"} | {
        name for name, field in cls.model_fields.items() if field.annotation is SecretStr
    }


def container_environment(
    objects: list[Manifest], container: dict[str, Any], service: str
) -> dict[str, str]:
    """The environment a container gets: its ConfigMaps and Secret (the template's values) in
    envFrom order, later sources winning, then its own env."""
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = find(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            assert source["secretRef"]["name"] == f"{service}-secrets"
            data = secret_template(service)["stringData"]
        environment.update({str(k): str(v) for k, v in data.items()})
    environment.update({e["name"]: str(e["value"]) for e in container.get("env", [])})
    return environment


def effective_settings(
    monkeypatch: pytest.MonkeyPatch, cls: type[ServiceSettings], environment: dict[str, str]
) -> ServiceSettings:
    """The settings a process builds from ``environment`` alone (validated as at start-up)."""
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.upper() in accepted_env_names(cls):
                patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        return cls()


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_set_is_one_the_service_reads(
    rendered: list[Manifest], service: str
) -> None:
    accepted = accepted_env_names(settings_class(service))
    for obj, pod in _workloads(rendered):
        if obj["metadata"]["labels"].get("app.kubernetes.io/name") != service:
            continue
        for container in pod["containers"]:
            unknown = set(container_environment(rendered, container, service)) - set(accepted)
            assert not unknown, f"{obj['metadata']['name']}: no setting reads {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_secrets_are_in_the_secret_and_only_there(rendered: list[Manifest], service: str) -> None:
    cls = settings_class(service)
    accepted = accepted_env_names(cls)
    secret_names = {name for name, field in accepted.items() if field in secret_fields(cls)}
    # Every secret setting is in the template: one left out silently takes the development
    # default its settings class documents.
    assert set(secret_template(service)["stringData"]) == secret_names
    for config_map in of_kind(rendered, "ConfigMap"):
        leaked = set(config_map["data"]) & secret_names
        assert not leaked, f"ConfigMap {config_map['metadata']['name']} holds secrets {leaked}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_settings_every_pod_gets_are_valid_and_consistent(
    rendered: list[Manifest], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = settings_class(service)
    for obj, pod in _workloads(rendered):
        if obj["metadata"]["labels"].get("app.kubernetes.io/name") != service:
            continue
        (container,) = pod["containers"]
        settings = effective_settings(
            monkeypatch, cls, container_environment(rendered, container, service)
        )
        assert settings.service_name == service
        for port in container.get("ports", []):
            if port["name"] == "http":  # `metrics`: test_observability.py
                assert port["containerPort"] == settings.http_port
        assert settings.http_host == "0.0.0.0"  # probes and the Service reach the pod's IP
        # The KafkaTopics carry the registry's default stages only.
        assert tuple(settings.consumer_retry_stages.split(",")) == RETRY_STAGES
        assert settings.log_format == "json"


def test_cross_service_settings_agree(rendered: list[Manifest]) -> None:
    def config(service: str) -> dict[str, str]:
        return dict(find(rendered, "ConfigMap", f"{service}-config")["data"])

    # billing.dunning.service: the two graces must be the same number of days.
    assert (
        config("orders")["ORDERS_SUSPENSION_GRACE_DAYS"]
        == config("billing")["BILLING_DUNNING_GRACE_DAYS"]
    )
    account = config("integrations").get("INTEGRATIONS_OPERATOR_ACCOUNT")
    if account is not None:  # bank statements are read for the seller's own account
        assert account == config("billing")["BILLING_SELLER_ACCOUNT"]
    shared = find(rendered, "ConfigMap", "vitrina-shared")["data"]
    identity_api = find(rendered, "Service", "identity-api")
    assert shared["VITRINA_AUTH_JWKS_URL"].startswith(f"http://{identity_api['metadata']['name']}/")


# --- production ------------------------------------------------------------------------------


def test_production_runs_released_images(production: list[Manifest]) -> None:
    for container in _containers(production):
        name, _, tag = container["image"].rpartition(":")
        assert name.startswith("registry.vitrina.example/"), container["image"]
        assert tag not in ("", "dev", "latest"), container["image"]


def test_production_serves_every_api_through_the_ingress_over_tls(
    production: list[Manifest],
) -> None:
    (ingress,) = of_kind(production, "Ingress")
    tls_hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    backends = {}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts
        for path in rule["http"]["paths"]:
            service = path["backend"]["service"]
            target = find(production, "Service", service["name"])
            assert service["port"]["name"] in {p["name"] for p in target["spec"]["ports"]}
            backends[rule["host"]] = service["name"]
    assert set(backends.values()) == {f"{service}-api" for service in SERVICES}
    shared = find(production, "ConfigMap", "vitrina-shared")["data"]
    assert shared["VITRINA_AUTH_ISSUER"] == "https://identity.vitrina.example"
    assert backends["identity.vitrina.example"] == "identity-api"
    for service in SERVICES:
        public_url = find(production, "ConfigMap", f"{service}-config")["data"]
        host = public_url[f"{service.upper()}_PUBLIC_URL"].removeprefix("https://")
        assert backends[host] == f"{service}-api"


def test_production_scales_beyond_the_base(production: list[Manifest]) -> None:
    base = render(BASE)
    for service in SERVICES:
        hpa = find(production, "HorizontalPodAutoscaler", f"{service}-api")["spec"]
        assert hpa["minReplicas"] >= 3  # one per zone
        assert hpa["maxReplicas"] > hpa["minReplicas"]
        pdb = find(production, "PodDisruptionBudget", f"{service}-api")["spec"]
        assert pdb["minAvailable"] == 2
        assert find(production, "Deployment", f"{service}-worker")["spec"]["replicas"] >= 2
        for kind in ("api", "worker"):
            (larger,) = _containers([find(production, "Deployment", f"{service}-{kind}")])
            (smaller,) = _containers([find(base, "Deployment", f"{service}-{kind}")])
            for resource in ("requests", "limits"):
                assert _mebibytes(larger["resources"][resource]["memory"]) > _mebibytes(
                    smaller["resources"][resource]["memory"]
                ), (service, kind, resource)


def _mebibytes(quantity: str) -> int:
    number, unit = quantity[:-2], quantity[-2:]
    return int(number) * {"Mi": 1, "Gi": 1024}[unit]
