"""Checks of deploy/examples/kserve, the KServe InferenceService (scripts/check-deploy.sh steps 3–5): the
structural check of the CRD (check_kserve_example, dispatched by deploy_checks.check_rendered) and its predictor as
a Pod for the Kubernetes schema checks (predictor_pod).

    from kserve_checks import check_kserve_example
    problems, count = check_kserve_example(objects)   # objects: the rendered example, yaml.safe_load_all
"""
from __future__ import annotations

import re

from deploy_checks import Checker, check_pod_security, check_sizing, selects


# KServe: the fields of spec.predictor (kserve 0.21 V1beta1PredictorSpec, its attribute_map) that are not PodSpec
# fields but the component's deployment settings or other predictor kinds; the rest of a predictor is a PodSpec.
KSERVE_COMPONENT_FIELDS = {"minReplicas", "maxReplicas", "scaleMetric", "scaleMetricType", "scaleTarget", "autoScaling",
                           "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher", "labels",
                           "annotations", "deploymentStrategy", "storageUris", "workerSpec"}
KSERVE_OTHER_PREDICTORS = {"model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "pmml", "lightgbm",
                           "paddle", "huggingface"}
# Fields KServe's default Serverless mode (Knative) refuses without a feature flag; the example must run there.
KNATIVE_REFUSED_POD_FIELDS = {"securityContext", "terminationGracePeriodSeconds", "initContainers", "hostNetwork",
                              "hostPID", "hostIPC", "activeDeadlineSeconds", "restartPolicy"}
KNATIVE_REFUSED_CONTAINER_FIELDS = {"lifecycle", "startupProbe"}


def pod_labels(isvc: dict) -> dict:
    """The labels KServe gives the predictor's pods: the InferenceService's own, serving.kserve.io/inferenceservice."""
    return {**isvc["metadata"].get("labels", {}), "serving.kserve.io/inferenceservice": isvc["metadata"]["name"]}


def predictor_pod(isvc: dict) -> dict:
    """The Pod a KServe InferenceService's custom predictor describes (its PodSpec fields), for the Kubernetes schema
    checks (kubernetes-validate --strict, checkov) that do not know the CRD: a misspelt predictor field lands in the
    Pod's spec and fails the strict validation. checkov.io/ skip annotations carry over."""
    predictor = isvc["spec"]["predictor"]
    skips = {k: v for k, v in isvc["metadata"].get("annotations", {}).items() if k.startswith("checkov.io/")}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": isvc["metadata"]["name"] + "-predictor", "namespace": isvc["metadata"].get("namespace"),
                         "labels": pod_labels(isvc), "annotations": skips},
            "spec": {k: v for k, v in predictor.items() if k not in KSERVE_COMPONENT_FIELDS | KSERVE_OTHER_PREDICTORS}}


def check_kserve_example(objects: list[dict]) -> tuple[list[str], int]:
    """deploy/examples/kserve: an InferenceService whose custom predictor runs the HistoAE image, speaking the Open
    Inference Protocol (v2) on one port, within what Knative accepts, sized and restricted as deploy/base.

    kubernetes-validate and checkov know no KServe schema (and no JSON schema of the CRD ships on PyPI: the kserve
    package has Python models only), so this structural check is the validation of the InferenceService itself;
    its predictor's PodSpec part is also validated as a Pod (predictor_pod, scripts/check-deploy.sh steps 3 and 5)."""
    c = Checker()
    by_kind: dict[str, list[dict]] = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    if not c.expect(len(by_kind.get("InferenceService", [])) == 1, "expected exactly one InferenceService"):
        return c.problems, c.count
    isvc = by_kind["InferenceService"][0]
    c.expect(isvc.get("apiVersion") == "serving.kserve.io/v1beta1",
             "InferenceService apiVersion serving.kserve.io/v1beta1")
    c.expect(set(isvc["spec"]) == {"predictor"}, "only a predictor (no transformer, explainer)")
    predictor = isvc["spec"]["predictor"]
    c.expect(not set(predictor) & KSERVE_OTHER_PREDICTORS, "a custom predictor only (containers, no model/framework)")
    refused = set(predictor) & KNATIVE_REFUSED_POD_FIELDS
    c.expect(not refused, f"Knative refuses predictor fields {sorted(refused)} (container securityContext instead)")
    containers = predictor.get("containers", [])
    if not c.expect(len(containers) == 1, "expected exactly one container (the custom predictor)"):
        return c.problems, c.count
    container = containers[0]
    refused = set(container) & KNATIVE_REFUSED_CONTAINER_FIELDS
    c.expect(not refused, f"Knative refuses container fields {sorted(refused)}")
    c.expect(container.get("name") == "kserve-container", "the predictor container must be named kserve-container")
    c.expect(re.search(r"(^|/)histoae[^/:@]*[:@]", container["image"]), f"image {container['image']} is not HistoAE's")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    settings = {k: v for k, v in env.items() if k.startswith("HISTOAE_") and v is not None}
    c.expect(env.get("PROTOCOL") == "v2", "env PROTOCOL=v2 (KServe's protocolVersion of a custom container)")
    c.expect(not container.get("envFrom"), "settings as env values (kustomize renames no generated ConfigMap in a CRD)")
    c.expect(settings.get("HISTOAE_HOST") == "0.0.0.0", "HISTOAE_HOST must be 0.0.0.0 in a pod")
    c.expect(not env.get("HISTOAE_API_KEYS"), "API keys must not be plain env values")

    # One port: REST (http1) on HISTOAE_PORT, or gRPC (h2c) on HISTOAE_GRPC_PORT; probes on the REST port.
    port = int(settings.get("HISTOAE_PORT", "8080"))
    ports = container.get("ports", [])
    if c.expect(len(ports) == 1, f"KServe routes exactly one container port, found {len(ports)}"):
        served = {"http1": port, "h2c": int(settings.get("HISTOAE_GRPC_PORT", "-1"))}
        c.expect(served.get(ports[0].get("name")) == ports[0]["containerPort"],
                 f"port {ports[0]} must be http1 = HISTOAE_PORT ({port}) or h2c = HISTOAE_GRPC_PORT")
    ready = (container.get("readinessProbe") or {}).get("httpGet") or {}
    c.expect(ready.get("path") == "/v2/health/ready" and ready.get("port") == port,
             f"readinessProbe must GET /v2/health/ready on port {port}")
    live = container.get("livenessProbe") or {}
    if ports and ports[0].get("name") == "h2c":  # Knative points a liveness probe at the serving port: TCP on gRPC's
        c.expect((live.get("tcpSocket") or {}).get("port") == ports[0]["containerPort"],
                 "with gRPC (h2c) the livenessProbe must be tcpSocket on the gRPC port (Knative rewrites its port)")
    else:
        get = live.get("httpGet") or {}
        c.expect(get.get("path") == "/v2/health/live" and get.get("port") == port,
                 f"livenessProbe must GET /v2/health/live on port {port}")
    allowed = live.get("initialDelaySeconds", 0) + live.get("periodSeconds", 10) * live.get("failureThreshold", 3)
    c.expect(allowed >= 30, "livenessProbe must allow at least 30 s for the model load")

    # Knative: `timeout` is the request timeout and the pod's grace period on SIGTERM.
    timeout = predictor.get("timeout", 300)
    drain = float(settings.get("HISTOAE_DRAIN_TIMEOUT_S", "30"))
    deadline = float(settings.get("HISTOAE_DEADLINE_MS", "30000"))
    c.expect(timeout > drain and timeout * 1000 >= deadline, f"timeout ({timeout} s) must exceed "
             f"HISTOAE_DRAIN_TIMEOUT_S ({drain:g}) and cover HISTOAE_DEADLINE_MS ({deadline:g})")
    c.expect(1 <= predictor.get("minReplicas", 1) <= predictor.get("maxReplicas", 0),
             "1 ≤ minReplicas ≤ maxReplicas")
    c.expect(predictor.get("scaleMetric", "concurrency") in ("concurrency", "rps", "cpu", "memory")
             and predictor.get("scaleTarget", 1) > 0, "scaleMetric concurrency|rps|cpu|memory, scaleTarget > 0")

    check_sizing(c, settings, container)
    check_pod_security(c, predictor, container)
    csc = container.get("securityContext", {})
    c.expect(csc.get("runAsNonRoot") is True and (csc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
             "runAsNonRoot and seccompProfile on the container (Knative refuses a pod securityContext)")
    keys_file = settings.get("HISTOAE_API_KEYS_FILE")
    if c.expect(keys_file, "HISTOAE_API_KEYS_FILE: the v2 API needs keys (health paths stay open)"):
        volumes = {v["name"]: v for v in predictor.get("volumes", [])}
        mounts = [m for m in container.get("volumeMounts", [])
                  if keys_file.startswith(m["mountPath"].rstrip("/") + "/")]
        c.expect(mounts and "secret" in volumes.get(mounts[0]["name"], {}),
                 f"HISTOAE_API_KEYS_FILE={keys_file} is not in a mounted Secret")
    policies = [p for p in by_kind.get("NetworkPolicy", [])
                if selects(p["spec"]["podSelector"].get("matchLabels", {}), pod_labels(isvc))]
    c.expect(policies and all(set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                              and not p["spec"].get("egress")
                              and all(r.get("from") for r in p["spec"].get("ingress", [])) for p in policies),
             "a NetworkPolicy must select the predictor pods, admit ingress only from named sources, deny egress")
    accounts = {s["metadata"]["name"] for s in by_kind.get("ServiceAccount", [])}
    c.expect(predictor.get("serviceAccountName") in accounts, "serviceAccountName must name the rendered ServiceAccount")
    for ns in by_kind.get("Namespace", []):
        c.expect(ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
                 f"Namespace {ns['metadata']['name']} should enforce the restricted Pod Security Standard")
    for o in objects:
        if o["kind"] != "Namespace":
            c.expect(o["metadata"].get("namespace") == isvc["metadata"].get("namespace"),
                     f"{o['kind']} {o['metadata']['name']} is not in the InferenceService's namespace")
    return c.problems, c.count
