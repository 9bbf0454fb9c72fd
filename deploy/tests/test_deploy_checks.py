"""deploy/tools/deploy_checks.py (scripts/check-deploy.sh step 4): the rendered overlays pass, and each kind of mistake an
operator could make in an overlay is caught."""
import copy
import functools
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "tools"))
from deploy_checks import check_compose, check_overlay, check_rendered, check_scan_job, required_memory_mib  # noqa: E402
from kserve_checks import check_kserve_example, predictor_pod  # noqa: E402

OVERLAYS = sorted(p.name for p in (ROOT / "deploy" / "overlays").iterdir() if p.is_dir())


@functools.lru_cache(maxsize=None)
def _rendered(overlay, folder="overlays"):
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy" / folder / overlay)],
                         capture_output=True, text=True, check=True).stdout
    return [o for o in yaml.safe_load_all(out) if o]


def render(overlay, folder="overlays"):
    """The overlay as `kubectl kustomize` renders it (a fresh copy each time: tests mutate it)."""
    if not shutil.which("kubectl"):
        pytest.skip("kubectl not installed")
    return copy.deepcopy(_rendered(overlay, folder))


def deployment(objects):
    return next(o for o in objects if o["kind"] == "Deployment")


def settings(objects):
    return next(o for o in objects if o["kind"] == "ConfigMap")["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_are_consistent(overlay):
    problems, count = check_overlay(render(overlay))
    assert problems == [] and count > 40


def test_compose_is_consistent():
    d = ROOT / "deploy" / "compose"
    problems, _ = check_compose(yaml.safe_load((d / "docker-compose.yml").read_text()),
                                yaml.safe_load((d / "prometheus.yml").read_text()))
    assert problems == []


def mutated(change):
    objects = render("prod")
    change(objects)
    problems, _ = check_overlay(objects)
    return " | ".join(problems)


def container(objects):
    return deployment(objects)["spec"]["template"]["spec"]["containers"][0]


def test_grace_period_shorter_than_drain_is_caught():
    def change(o):
        deployment(o)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30
    assert "terminationGracePeriodSeconds" in mutated(change)


def test_drain_timeout_raised_without_grace_period_is_caught():
    assert "terminationGracePeriodSeconds" in mutated(lambda o: settings(o).update(HISTOAE_DRAIN_TIMEOUT_S="60"))


def test_workers_not_matching_cpu_is_caught():
    assert "workers × threads" in mutated(lambda o: settings(o).update(HISTOAE_WORKERS="4"))
    assert "workers × threads" in mutated(lambda o: settings(o).update(HISTOAE_BLAS_THREADS="2"))


def test_memory_below_footprint_is_caught():
    def change(o):
        container(o)["resources"]["limits"]["memory"] = "256Mi"
        container(o)["resources"]["requests"]["memory"] = "256Mi"
    assert "memory limit" in mutated(change)
    # A bigger queue needs more memory too.
    assert "memory limit" in mutated(lambda o: settings(o).update(HISTOAE_QUEUE_CAPACITY="4096"))


def test_wrong_probe_paths_are_caught():
    def change(o):
        container(o)["readinessProbe"]["httpGet"]["path"] = "/healthz"
        del container(o)["startupProbe"]
    problems = mutated(change)
    assert "readinessProbe must GET /readyz" in problems and "startupProbe missing" in problems


def test_weakened_security_context_is_caught():
    def change(o):
        sc = container(o)["securityContext"]
        sc["readOnlyRootFilesystem"] = False
        sc["capabilities"]["drop"] = ["NET_RAW"]
    problems = mutated(change)
    assert "readOnlyRootFilesystem" in problems and "capabilities drop ALL" in problems


def test_host_and_selectors_are_checked():
    assert "HISTOAE_HOST" in mutated(lambda o: settings(o).update(HISTOAE_HOST="127.0.0.1"))

    def change(o):
        next(x for x in o if x["kind"] == "Service")["spec"]["selector"] = {"app": "other"}
    assert "selects no pod" in mutated(change)


def test_api_keys_must_not_be_configmap_values():
    assert "API keys" in mutated(lambda o: settings(o).update(HISTOAE_API_KEYS="k1,k2"))


def test_latest_image_is_caught():
    assert "version tag" in mutated(lambda o: container(o).update(image="registry.example.com/histoae:latest"))


def test_servicemonitor_is_checked():
    objects = render("prod-servicemonitor")
    sm = next(o for o in objects if o["kind"] == "ServiceMonitor")
    sm["spec"]["endpoints"][0]["port"] = "metrics"
    problems, _ = check_overlay(objects)
    assert any("ServiceMonitor endpoint" in p for p in problems)


def test_memory_model_grows_with_workers_and_queue():
    assert required_memory_mib(2, 256) > required_memory_mib(1, 256) > required_memory_mib(1, 0)


# ---------------------------------------------------------------------------------------------- the scan Job example

def scan_job(objects):
    return next(o for o in objects if o["kind"] == "Job")


def test_scan_job_example_is_consistent():
    objects = render("scan-job", "examples")
    problems, count = check_scan_job(objects)
    assert problems == [] and count > 20
    assert check_rendered(objects) == (problems, count)  # check-deploy.sh's dispatch picks the Job checks


def _job_container(objects):
    return scan_job(objects)["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("mistake, expected", [
    (lambda o: scan_job(o)["spec"].update(completions=5), "completions (5) must equal the slides listed (3)"),
    (lambda o: scan_job(o)["spec"].pop("completionMode"), "Indexed"),
    (lambda o: _job_container(o)["resources"]["limits"].update(memory="256Mi"), "below the measured scan footprint"),
    (lambda o: _job_container(o)["resources"]["limits"].update(cpu="4"), "must equal --workers 2"),
    (lambda o: next(x for x in o if x["kind"] == "NetworkPolicy")["spec"].update(egress=[{}]), "deny the scan pods"),
    (lambda o: next(x for x in o if x["kind"] == "ConfigMap")["data"].update({"slides.txt": "a.svs\n../b.svs\nc.svs\n"}),
     "without .."),
    (lambda o: _job_container(o)["securityContext"].update(readOnlyRootFilesystem=False), "readOnlyRootFilesystem"),
    (lambda o: scan_job(o)["spec"]["template"]["spec"].update(restartPolicy="OnFailure"), "restartPolicy Never"),
])
def test_scan_job_mistakes_are_caught(mistake, expected):
    objects = render("scan-job", "examples")
    mistake(objects)
    problems, _ = check_scan_job(objects)
    assert any(expected in p for p in problems), problems


# ------------------------------------------------------------------------------------------ the KServe example

def isvc(objects):
    return next(o for o in objects if o["kind"] == "InferenceService")


def _predictor_container(objects):
    return isvc(objects)["spec"]["predictor"]["containers"][0]


def _env(objects, name, value):
    env = _predictor_container(objects)["env"]
    next(e for e in env if e["name"] == name)["value"] = value


def test_kserve_example_is_consistent():
    objects = render("kserve", "examples")
    problems, count = check_kserve_example(objects)
    assert problems == [] and count > 40
    assert check_rendered(objects) == (problems, count)  # check-deploy.sh's dispatch picks the KServe checks


def test_kserve_settings_are_deploy_base_settings():
    """The example repeats deploy/base's ConfigMap as env (kustomize cannot point a CRD at a generated ConfigMap):
    a setting changed in one place only is caught here."""
    base = settings(render("base", "."))
    env = {e["name"]: e["value"] for e in _predictor_container(render("kserve", "examples"))["env"]}
    assert {k: v for k, v in env.items() if k.startswith("HISTOAE_")} == base


@pytest.mark.parametrize("mistake, expected", [
    (lambda o: isvc(o).update(apiVersion="serving.kserve.io/v1alpha2"), "apiVersion serving.kserve.io/v1beta1"),
    (lambda o: _env(o, "PROTOCOL", "v1"), "PROTOCOL=v2"),
    (lambda o: _predictor_container(o)["ports"].append({"name": "h2c", "containerPort": 8081}),
     "exactly one container port, found 2"),
    (lambda o: _predictor_container(o)["ports"][0].update(name="http"), "must be http1 = HISTOAE_PORT (8080)"),
    (lambda o: _predictor_container(o)["ports"][0].update(name="h2c"), "h2c = HISTOAE_GRPC_PORT"),
    (lambda o: _predictor_container(o)["readinessProbe"]["httpGet"].update(path="/readyz"),
     "readinessProbe must GET /v2/health/ready on port 8080"),
    (lambda o: _predictor_container(o)["livenessProbe"]["httpGet"].update(port=9090),
     "livenessProbe must GET /v2/health/live on port 8080"),
    (lambda o: _env(o, "HISTOAE_PORT", "9000"), "must be http1 = HISTOAE_PORT (9000)"),
    (lambda o: _env(o, "HISTOAE_WORKERS", "4"), "workers × threads"),
    (lambda o: _predictor_container(o)["resources"]["limits"].update(memory="768Mi"), "memory request must equal limit"),
    (lambda o: [_predictor_container(o)["resources"][k].update(memory="512Mi") for k in ("requests", "limits")],
     "below the measured footprint"),
    (lambda o: _env(o, "HISTOAE_QUEUE_CAPACITY", "4096"), "below the measured footprint"),
    (lambda o: isvc(o)["spec"]["predictor"].update(securityContext={"runAsNonRoot": True}),
     "Knative refuses predictor fields ['securityContext']"),
    (lambda o: _predictor_container(o).update(lifecycle={"preStop": {"exec": {"command": ["sleep", "5"]}}}),
     "Knative refuses container fields ['lifecycle']"),
    (lambda o: _predictor_container(o)["securityContext"].update(readOnlyRootFilesystem=False), "readOnlyRootFilesystem"),
    (lambda o: _predictor_container(o)["securityContext"].pop("seccompProfile"), "seccompProfile"),
    (lambda o: _predictor_container(o).update(image="registry.example.com/other:1.0.0"), "is not HistoAE's"),
    (lambda o: _predictor_container(o).update(image="registry.example.com/histoae:latest"), "version tag"),
    (lambda o: isvc(o)["spec"]["predictor"]["containers"].append({"name": "sidecar", "image": "busybox:1"}),
     "exactly one container"),
    (lambda o: isvc(o)["spec"]["predictor"].update(sklearn={"storageUri": "gs://x"}), "a custom predictor only"),
    (lambda o: isvc(o)["spec"]["predictor"].update(timeout=20), "timeout (20 s) must exceed"),
    (lambda o: isvc(o)["spec"]["predictor"].update(minReplicas=12), "1 ≤ minReplicas ≤ maxReplicas"),
    (lambda o: _predictor_container(o)["env"].append({"name": "HISTOAE_API_KEYS", "value": "k1"}), "plain env"),
    (lambda o: next(x for x in o if x["kind"] == "NetworkPolicy")["spec"].update(egress=[{}]), "deny egress"),
    (lambda o: next(x for x in o if x["kind"] == "NetworkPolicy")["spec"]["podSelector"].update(
        matchLabels={"serving.kserve.io/inferenceservice": "other"}), "must select the predictor pods"),
    (lambda o: isvc(o)["spec"]["predictor"].update(serviceAccountName="default"), "serviceAccountName"),
])
def test_kserve_mistakes_are_caught(mistake, expected):
    objects = render("kserve", "examples")
    mistake(objects)
    problems, _ = check_kserve_example(objects)
    assert any(expected in p for p in problems), problems


def test_predictor_pod_is_the_predictors_podspec():
    pod = predictor_pod(isvc(render("kserve", "examples")))
    assert pod["kind"] == "Pod" and pod["metadata"]["labels"]["serving.kserve.io/inferenceservice"] == "histoae"
    assert pod["spec"]["containers"][0]["name"] == "kserve-container"
    assert not {"minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "timeout"} & set(pod["spec"])
    assert set(pod["metadata"]["annotations"]) == {"checkov.io/skip1", "checkov.io/skip2"}


def test_kserve_grpc_variant_is_accepted_and_its_liveness_checked():
    """The one-port gRPC variant deploy/README.md section 8 describes: h2c on HISTOAE_GRPC_PORT, TCP liveness on it."""
    objects = render("kserve", "examples")
    c = _predictor_container(objects)
    c["env"].append({"name": "HISTOAE_GRPC_PORT", "value": "8081"})
    c["ports"] = [{"name": "h2c", "containerPort": 8081, "protocol": "TCP"}]
    c["livenessProbe"] = {"tcpSocket": {"port": 8081}, "initialDelaySeconds": 10, "periodSeconds": 10}
    assert check_kserve_example(objects)[0] == []
    c["livenessProbe"] = {"httpGet": {"path": "/v2/health/live", "port": 8080}, "initialDelaySeconds": 10}
    assert any("tcpSocket on the gRPC port" in p for p in check_kserve_example(objects)[0])
