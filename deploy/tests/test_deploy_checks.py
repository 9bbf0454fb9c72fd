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
