"""Consistency checks of the rendered Kubernetes objects and the compose file (scripts/check-deploy.sh, step 4).

Schema validation says a manifest is well-formed; these say it does what the server needs: probes on the right
endpoints, a grace period longer than the drain, CPU equal to workers × threads, memory above the measured
footprint, the restricted security context, selectors that select, Prometheus pointed at /metrics.
Each function returns (problems, number_of_checks). The KServe example's checks are in kserve_checks.py
(check_kserve_example; check_rendered dispatches to it).
"""
from __future__ import annotations

import re

# Memory footprint of `histoae serve` (release build): peak RSS under saturating loopback load is measured by
# bench/memory.py, which writes the table in deploy/README.md "Sizing" and checks this rule (without HEADROOM)
# covers every measured row.
# Fitted upper bound: a fixed part (binary, model, runtimes), a part per inference worker (its activations), a
# part per queued patch (decoded image, tensor, result), the request bodies and answers the server may hold at
# once (HISTOAE_MAX_BUFFERED_BYTES: the server refuses beyond it with 503), and per codec thread the transient
# of building the largest answer (80 patches with maps=array: 46 MB of JSON plus its float arrays), times a
# headroom factor for allocator fragmentation. docs/attack-under-load.md measures the peak under attack.
BASE_MIB = 100
PER_WORKER_MIB = 45
PER_QUEUED_PATCH_MIB = 0.35
ENCODE_MIB_PER_CODEC_THREAD = 32
HEADROOM = 1.5
DEFAULT_BUFFERED_BYTES = 192 * 2**20
# Upper bound of the peak RSS of `histoae scan --workers 2`: bench/memory.py measures it on the shared slides
# (deploy/README.md "Sizing", the SCAN table) and checks this covers every row; it does not grow with the slide
# (tiles are streamed, the heatmap is thumbnail-sized).
SCAN_MEMORY_MIB = 256


def required_memory_mib(workers: int, queue_capacity: int, buffered_bytes: int = DEFAULT_BUFFERED_BYTES,
                        codec_threads: int = 2) -> float:
    return (BASE_MIB + PER_WORKER_MIB * workers + PER_QUEUED_PATCH_MIB * queue_capacity + buffered_bytes / 2**20
            + ENCODE_MIB_PER_CODEC_THREAD * codec_threads) * HEADROOM


def cpu_cores(quantity) -> float:
    s = str(quantity)
    return float(s[:-1]) / 1000 if s.endswith("m") else float(s)


def mebibytes(quantity) -> float:
    s = str(quantity)
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for unit, factor in units.items():
        if s.endswith(unit):
            return float(s[: -len(unit)]) * factor
    return float(s) / 2**20


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class Checker:
    def __init__(self):
        self.problems: list[str] = []
        self.count = 0

    def expect(self, condition, message):
        self.count += 1
        if not condition:
            self.problems.append(message)
        return bool(condition)


def check_pod_security(c: Checker, spec: dict, container: dict) -> None:
    """The restricted security context (pod and container), no service-account token, a versioned image."""
    psc, csc = spec.get("securityContext", {}), container.get("securityContext", {})
    c.expect(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, "runAsNonRoot")
    c.expect(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    c.expect(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    c.expect("ALL" in (csc.get("capabilities") or {}).get("drop", []), "capabilities drop ALL")
    c.expect((psc.get("seccompProfile") or csc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
             "seccompProfile RuntimeDefault")
    c.expect(spec.get("automountServiceAccountToken") is False, "automountServiceAccountToken: false")
    image = container["image"]
    c.expect(re.search(r"(:[^/:]+|@sha256:[0-9a-f]{64})$", image) and not image.endswith(":latest"),
             f"image {image} must carry a version tag or digest")


def check_sizing(c: Checker, settings: dict, container: dict) -> None:
    """CPU = workers × OpenBLAS threads (request = limit), codec threads within the cores, HISTOAE_MAX_PATCHES within
    the queue, memory request = limit above the measured footprint for these settings (serving pods)."""
    resources = container.get("resources", {})
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    workers = int(settings.get("HISTOAE_WORKERS", "0"))
    threads = int(settings.get("HISTOAE_BLAS_THREADS", settings.get("HISTOAE_THREADS", "1")))
    c.expect(workers > 0, "HISTOAE_WORKERS must be set explicitly (the default, the host's cores, ignores the limit)")
    if c.expect("cpu" in requests and "cpu" in limits, "cpu request and limit required"):
        c.expect(cpu_cores(requests["cpu"]) == cpu_cores(limits["cpu"]) == workers * threads,
                 f"cpu request/limit ({requests['cpu']}/{limits['cpu']}) must equal workers × threads "
                 f"({workers} × {threads})")
    c.expect(int(settings.get("HISTOAE_MAX_PATCHES", "256")) <= int(settings.get("HISTOAE_QUEUE_CAPACITY", "512")),
             "HISTOAE_MAX_PATCHES must not exceed HISTOAE_QUEUE_CAPACITY (the server refuses to start)")
    codec = int(settings.get("HISTOAE_CODEC_THREADS", "0"))
    c.expect(0 < codec <= max(1, workers * threads),
             "HISTOAE_CODEC_THREADS must be set and at most the pod's cores")
    # Memory: request = limit (Guaranteed QoS), above the measured footprint.
    if c.expect("memory" in requests and "memory" in limits, "memory request and limit required"):
        c.expect(mebibytes(requests["memory"]) == mebibytes(limits["memory"]), "memory request must equal limit")
        queue = int(settings.get("HISTOAE_QUEUE_CAPACITY", "512"))
        buffered = int(settings.get("HISTOAE_MAX_BUFFERED_BYTES", str(DEFAULT_BUFFERED_BYTES)))
        need = required_memory_mib(workers, queue, buffered, max(codec, 1))
        c.expect(mebibytes(limits["memory"]) >= need,
                 f"memory limit {limits['memory']} below the measured footprint for {workers} workers, a "
                 f"queue of {queue} patches and {buffered / 2**20:.0f} MiB of buffered bodies and answers "
                 f"({need:.0f} MiB incl. headroom)")


def check_overlay(objects: list[dict]) -> tuple[list[str], int]:
    c = Checker()
    by_kind: dict[str, list[dict]] = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    for kind in ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                 "NetworkPolicy", "ServiceAccount", "Namespace"):
        c.expect(kind in by_kind, f"no {kind}")
    if not c.expect(len(by_kind.get("Deployment", [])) == 1, "expected exactly one Deployment"):
        return c.problems, c.count
    deployment = by_kind["Deployment"][0]
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"]["labels"]
    containers = spec["containers"]
    c.expect(len(containers) == 1, "expected one container")
    container = containers[0]

    # Settings: the ConfigMap the container reads.
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    maps = {m["metadata"]["name"]: m.get("data", {}) for m in by_kind.get("ConfigMap", [])}
    c.expect(refs and all(r in maps for r in refs), f"envFrom names a ConfigMap that is not rendered: {refs}")
    settings: dict[str, str] = {}
    for r in refs:
        settings.update(maps.get(r, {}))
    for e in container.get("env", []):
        if "value" in e:
            settings[e["name"]] = e["value"]
    c.expect(settings.get("HISTOAE_HOST") == "0.0.0.0", "HISTOAE_HOST must be 0.0.0.0 in a pod")
    port = int(settings.get("HISTOAE_PORT", "8080"))
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    c.expect(ports.get("http") == port, f"container port 'http' must be HISTOAE_PORT ({port}), is {ports}")

    # Probes.
    def probe(name, path):
        p = container.get(name)
        if c.expect(p and "httpGet" in p, f"{name} missing or not httpGet"):
            c.expect(p["httpGet"]["path"] == path, f"{name} must GET {path}")
            c.expect(p["httpGet"]["port"] in ("http", port), f"{name} must use the http port")
        return p or {}
    probe("readinessProbe", "/readyz")
    probe("livenessProbe", "/healthz")
    startup = probe("startupProbe", "/healthz")
    c.expect(startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3) >= 30,
             "startupProbe must allow at least 30 s for the model load")

    # Shutdown: the grace period covers the preStop pause and the server's drain.
    drain = float(settings.get("HISTOAE_DRAIN_TIMEOUT_S", "30"))
    pre_stop = 0.0
    command = (((container.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
    if len(command) == 2 and command[0] == "sleep":
        pre_stop = float(command[1])
    grace = spec.get("terminationGracePeriodSeconds", 30)
    c.expect(grace > drain + pre_stop,
             f"terminationGracePeriodSeconds ({grace}) must exceed preStop ({pre_stop:g}) + drain timeout ({drain:g})")

    check_sizing(c, settings, container)

    check_pod_security(c, spec, container)

    # Spread across nodes; Prometheus annotations.
    keys = {t["topologyKey"] for t in spec.get("topologySpreadConstraints", [])
            if selects(t.get("labelSelector", {}).get("matchLabels", {}), labels)}
    c.expect("kubernetes.io/hostname" in keys, "topologySpreadConstraints across kubernetes.io/hostname")
    ann = pod["metadata"].get("annotations", {})
    c.expect(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/path") == "/metrics"
             and ann.get("prometheus.io/port") == str(port), "pod prometheus.io/* annotations")

    # API keys: the file HISTOAE_API_KEYS_FILE names lies in a mounted Secret.
    keys_file = settings.get("HISTOAE_API_KEYS_FILE")
    if keys_file:
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = [m for m in container.get("volumeMounts", []) if keys_file.startswith(m["mountPath"].rstrip("/") + "/")]
        c.expect(mounts and "secret" in volumes.get(mounts[0]["name"], {}),
                 f"HISTOAE_API_KEYS_FILE={keys_file} is not in a mounted Secret")
    c.expect(not settings.get("HISTOAE_API_KEYS"), "API keys must not be plain ConfigMap values")

    # Selectors that select, references that resolve.
    for svc in by_kind.get("Service", []):
        c.expect(selects(svc["spec"].get("selector", {}), labels), f"Service {svc['metadata']['name']} selects no pod")
        for p in svc["spec"]["ports"]:
            c.expect(p.get("targetPort") in ("http", port), "Service targetPort must be the http port")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        c.expect(selects(pdb["spec"]["selector"].get("matchLabels", {}), labels), "PodDisruptionBudget selects no pod")
    for np in by_kind.get("NetworkPolicy", []):
        c.expect(selects(np["spec"]["podSelector"].get("matchLabels", {}), labels), "NetworkPolicy selects no pod")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        ref = hpa["spec"]["scaleTargetRef"]
        c.expect(ref["kind"] == "Deployment" and ref["name"] == deployment["metadata"]["name"],
                 "HPA must target the Deployment")
        c.expect(1 <= hpa["spec"].get("minReplicas", 1) <= hpa["spec"]["maxReplicas"], "HPA min ≤ max")
    c.expect("replicas" not in deployment["spec"], "the HPA owns replicas: the Deployment must not set them")
    c.expect(spec.get("serviceAccountName") in {s["metadata"]["name"] for s in by_kind.get("ServiceAccount", [])},
             "serviceAccountName must name the rendered ServiceAccount")
    for ns in by_kind.get("Namespace", []):
        c.expect(ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
                 f"Namespace {ns['metadata']['name']} should enforce the restricted Pod Security Standard")
        c.expect(deployment["metadata"].get("namespace") == ns["metadata"]["name"],
                 "the Deployment must live in the rendered Namespace")

    # Every namespaced object beside the Deployment (a merged ConfigMap can lose its namespace in old kustomize).
    namespace = deployment["metadata"].get("namespace")
    for o in objects:
        if o["kind"] != "Namespace":
            c.expect(o["metadata"].get("namespace") == namespace,
                     f"{o['kind']} {o['metadata']['name']} is in namespace {o['metadata'].get('namespace')}, "
                     f"not {namespace}")

    # ServiceMonitor (a CRD: no schema in kubernetes-validate, so checked here).
    for sm in by_kind.get("ServiceMonitor", []):
        c.expect(sm.get("apiVersion") == "monitoring.coreos.com/v1", "ServiceMonitor apiVersion")
        svc_labels = [s["metadata"].get("labels", {}) for s in by_kind.get("Service", [])]
        c.expect(any(selects(sm["spec"]["selector"].get("matchLabels", {}), l) for l in svc_labels),
                 "ServiceMonitor selects no Service")
        svc_ports = {p.get("name") for s in by_kind.get("Service", []) for p in s["spec"]["ports"]}
        for ep in sm["spec"].get("endpoints", []):
            c.expect(ep.get("port") in svc_ports and ep.get("path", "/metrics") == "/metrics",
                     "ServiceMonitor endpoint must scrape a Service port's /metrics")
        c.expect(deployment["metadata"].get("namespace") in sm["spec"].get("namespaceSelector", {}).get("matchNames", []),
                 "ServiceMonitor namespaceSelector must include the Deployment's namespace")
    return c.problems, c.count


def check_scan_job(objects: list[dict]) -> tuple[list[str], int]:
    """deploy/examples/scan-job: an Indexed Job of `histoae scan`, one slide per index, as many completions as
    lines in the slide list, CPU = --workers, memory above the measured scan footprint, no network, restricted."""
    c = Checker()
    by_kind: dict[str, list[dict]] = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    if not c.expect(len(by_kind.get("Job", [])) == 1, "expected exactly one Job"):
        return c.problems, c.count
    job = by_kind["Job"][0]
    pod = job["spec"]["template"]
    spec, labels = pod["spec"], pod["metadata"]["labels"]
    c.expect(job["spec"].get("completionMode") == "Indexed", "the Job must be Indexed (one slide per index)")
    c.expect(spec.get("restartPolicy") == "Never", "restartPolicy Never: the Job, not the kubelet, retries")
    containers = spec["containers"]
    c.expect(len(containers) == 1, "expected one container")
    container = containers[0]
    script = "\n".join(container.get("command", []) + container.get("args", []))
    c.expect("/app/bin/histoae scan" in script and "JOB_COMPLETION_INDEX" in script,
             "the container must run `histoae scan` on the slide of its JOB_COMPLETION_INDEX")

    # The slide list: a mounted ConfigMap whose line count is the number of completions.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    maps = {m["metadata"]["name"]: m.get("data", {}) for m in by_kind.get("ConfigMap", [])}
    lists = [volumes[m["name"]]["configMap"]["name"] for m in container.get("volumeMounts", [])
             if "configMap" in volumes.get(m["name"], {})]
    if c.expect(lists and lists[0] in maps and "slides.txt" in maps[lists[0]], "the slide list ConfigMap is not mounted"):
        lines = [line for line in maps[lists[0]]["slides.txt"].splitlines() if line.strip()]
        c.expect(job["spec"].get("completions") == len(lines),
                 f"completions ({job['spec'].get('completions')}) must equal the slides listed ({len(lines)})")
        c.expect(all(not l.startswith("/") and ".." not in l.split("/") for l in lines),
                 "slide paths must be relative to the volume, without ..")
    c.expect(1 <= job["spec"].get("parallelism", 1) <= job["spec"].get("completions", 1), "1 ≤ parallelism ≤ completions")
    c.expect(job["spec"].get("activeDeadlineSeconds", 0) > 0, "activeDeadlineSeconds bounds a stuck pod")

    # CPU = the scan's --workers, request = limit; memory above the measured scan footprint.
    workers = re.search(r"--workers (\d+)", script)
    resources = container.get("resources", {})
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    if c.expect(workers and "cpu" in requests and "cpu" in limits, "--workers and a cpu request/limit"):
        c.expect(cpu_cores(requests["cpu"]) == cpu_cores(limits["cpu"]) == int(workers.group(1)),
                 f"cpu request/limit must equal --workers {workers.group(1)}")
    if c.expect("memory" in requests and "memory" in limits, "memory request and limit required"):
        c.expect(mebibytes(requests["memory"]) == mebibytes(limits["memory"]), "memory request must equal limit")
        c.expect(mebibytes(limits["memory"]) >= SCAN_MEMORY_MIB * HEADROOM,
                 f"memory limit {limits['memory']} below the measured scan footprint ({SCAN_MEMORY_MIB * HEADROOM:.0f} MiB "
                 "incl. headroom)")
    check_pod_security(c, spec, container)
    c.expect(spec.get("serviceAccountName") in {s["metadata"]["name"] for s in by_kind.get("ServiceAccount", [])},
             "serviceAccountName must name the rendered ServiceAccount")
    policies = [p for p in by_kind.get("NetworkPolicy", [])
                if selects(p["spec"]["podSelector"].get("matchLabels", {}), labels)]
    c.expect(policies and all(set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                              and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies),
             "a NetworkPolicy must deny the scan pods all traffic")
    namespaces = by_kind.get("Namespace", [])
    for ns in namespaces:
        c.expect(ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
                 f"Namespace {ns['metadata']['name']} should enforce the restricted Pod Security Standard")
    for o in objects:
        if o["kind"] != "Namespace":
            c.expect(o["metadata"].get("namespace") == job["metadata"].get("namespace"),
                     f"{o['kind']} {o['metadata']['name']} is not in the Job's namespace")
    return c.problems, c.count


def check_rendered(objects: list[dict]) -> tuple[list[str], int]:
    """A rendered kustomization: the scan Job example, the KServe example, or a serving overlay."""
    if any(o["kind"] == "Job" for o in objects):
        return check_scan_job(objects)
    if any(o["kind"] == "InferenceService" for o in objects):
        from kserve_checks import check_kserve_example  # here, not at the top: kserve_checks imports this module
        return check_kserve_example(objects)
    return check_overlay(objects)


def seconds(duration) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", str(duration))
    value, unit = float(m.group(1)), m.group(2) or "s"
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


def check_compose(compose: dict, prometheus: dict) -> tuple[list[str], int]:
    c = Checker()
    services = compose.get("services", {})
    if not c.expect("histoae" in services and "prometheus" in services, "services histoae and prometheus"):
        return c.problems, c.count
    h = services["histoae"]
    env = h.get("environment", {})
    workers = int(env.get("HISTOAE_WORKERS", 0))
    threads = int(env.get("HISTOAE_BLAS_THREADS", env.get("HISTOAE_THREADS", 1)))
    c.expect(workers > 0 and workers * threads <= float(h.get("cpus", 0)), "compose: workers × threads ≤ cpus")
    c.expect(seconds(h.get("stop_grace_period", "10s")) > float(env.get("HISTOAE_DRAIN_TIMEOUT_S", 30)),
             "compose: stop_grace_period must exceed HISTOAE_DRAIN_TIMEOUT_S")
    c.expect(mebibytes(str(h.get("mem_limit", "0")).replace("g", "Gi").replace("m", "Mi"))
             >= required_memory_mib(workers, int(env.get("HISTOAE_QUEUE_CAPACITY", 512))),
             "compose: mem_limit below the measured footprint")
    c.expect(h.get("read_only") is True and "ALL" in h.get("cap_drop", []), "compose: read_only and cap_drop ALL")
    c.expect(any(str(p).endswith(":8080") for p in h.get("ports", [])), "compose: port 8080 published")
    jobs = prometheus.get("scrape_configs", [])
    targets = [t for j in jobs if j.get("metrics_path", "/metrics") == "/metrics"
               for sc in j.get("static_configs", []) for t in sc.get("targets", [])]
    c.expect("histoae:8080" in targets, "prometheus.yml must scrape histoae:8080/metrics")
    c.expect("./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"].get("volumes", []),
             "compose: Prometheus must mount prometheus.yml")
    return c.problems, c.count
