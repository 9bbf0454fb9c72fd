"""Starts the real `histoae serve` with each rendered overlay's settings (its ConfigMap, and its generated
Secret's API keys where it has one) and checks what the pod's probes and clients will see:
/healthz and /readyz 200, the API closed without a key and open with one, /metrics open to Prometheus
(unless the overlay requires a key for it), then SIGTERM → exit 0. Catches settings the server refuses
(e.g. HISTOAE_MAX_PATCHES above HISTOAE_QUEUE_CAPACITY) before a cluster does.

    python3 deploy/tools/settings_smoke.py BINARY RENDERED.yaml...

A rendered scan Job (deploy/examples/scan-job) is run instead: its container script with bash, on the shared
slides (``smoke_scan_job``). A rendered KServe InferenceService (deploy/examples/kserve) starts the server with its
predictor container's env and speaks the Open Inference Protocol to it (``smoke_kserve``).
Every HISTOAE_* setting must be one `histoae serve --help` names: the server ignores an unknown (misspelt) one.

Only the bind address and port are changed (127.0.0.1, a free port), and paths of the container
(/app/models/default, a mounted model, the Secret's file) are mapped to this checkout's models/default and a
temporary key file.
"""
import base64
import json
import os
import re
import pathlib
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def get(url, key=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def unknown_settings(binary, settings):
    """HISTOAE_* names the CLI does not know (`histoae serve --help` names every variable it reads)."""
    known = set(re.findall(r"HISTOAE_[A-Z0-9_]+", subprocess.run([binary, "serve", "--help"], capture_output=True,
                                                                  text=True).stdout))
    return sorted(k for k in settings if k.startswith("HISTOAE_") and k not in known)


def start(binary, settings, keys):
    """`histoae serve` with these settings, bound to 127.0.0.1 on a free port, the container's model and key file
    mapped to this checkout's models/default and a temporary file holding `keys`. Returns (process, address or
    None, the reason it did not start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HISTOAE_")}
    env.update(settings)
    env["HISTOAE_HOST"], env["HISTOAE_PORT"] = "127.0.0.1", "0"
    env["HISTOAE_MODEL"] = str(ROOT / "models" / "default")  # the image's /app/models/default, or a mounted model
    if "HISTOAE_API_KEYS_FILE" in settings:
        path = pathlib.Path(tempfile.mkdtemp()) / "keys"
        path.write_text(keys)
        env["HISTOAE_API_KEYS_FILE"] = str(path)
    process = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("histoae: listening on "):
            return process, line.split()[-1], None
    process.wait(timeout=30)
    return process, None, f"the server did not start: {process.stderr.read().strip()[-500:]}"


def stop(process):
    """SIGTERM; the problems if the server does not exit 0 within a minute."""
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        code = "hung"
    return [] if code == 0 else [f"SIGTERM: exit {code}, expected 0"]


def smoke(binary, rendered):
    objects = [o for o in yaml.safe_load_all(open(rendered)) if o]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    settings = {}
    for o in objects:
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] in refs:
            settings.update(o.get("data", {}))
    # The overlay's generated Secret if it has one, else a stand-in for the Secret the operator creates.
    data = next((base64.b64decode(s["data"]["keys"]).decode() for s in objects
                 if s["kind"] == "Secret" and "keys" in s.get("data", {})), "smoke-test-key\n")
    key = None
    if "HISTOAE_API_KEYS_FILE" in settings:
        key = next(line.strip() for line in data.splitlines() if line.strip() and not line.startswith("#"))
    problems = [f"unknown setting {k}: the server ignores it" for k in unknown_settings(binary, settings)]
    process, address, failure = start(binary, settings, data)
    if address is None:
        return problems + [failure]
    try:
        expected = [("/healthz", None, 200), ("/readyz", None, 200),
                    ("/metrics", None, 401 if settings.get("HISTOAE_METRICS_REQUIRE_KEY") in ("1", "true") else 200)]
        if key:
            expected += [("/v1/model", None, 401), ("/v1/model", key, 200)]
        else:
            expected += [("/v1/model", None, 200)]
        for path, k, status in expected:
            got = get(address + path, k)
            if got != status:
                problems.append(f"GET {path}{' with key' if k else ''}: {got}, expected {status}")
    finally:
        problems += stop(process)
    return problems


def model_name(address, key):
    """The served model's name in the Open Inference Protocol: its model card's (GET /v1/model)."""
    request = urllib.request.Request(f"{address}/v1/model", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["name"]


def infer_one_patch(address, model, key):
    """POST /v2/models/{model}/infer as tritonclient.http sends it (the binary tensor data extension): one black
    150×150 RGB patch as UINT8 [1, 150, 150, 3], outputs score and verdict. Returns (status, response JSON)."""
    pixels = bytes(150 * 150 * 3)
    header = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 150, 150, 3],
                                     "parameters": {"binary_data_size": len(pixels)}}],
                         "outputs": [{"name": "score"}, {"name": "verdict"}]}).encode()
    request = urllib.request.Request(f"{address}/v2/models/{model}/infer", data=header + pixels, method="POST",
                                     headers={"Inference-Header-Content-Length": str(len(header)),
                                              "Content-Type": "application/octet-stream",
                                              "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            length = response.headers.get("Inference-Header-Content-Length")
            return response.status, json.loads(body[: int(length)] if length else body)
    except urllib.error.HTTPError as error:
        return error.code, {}


def smoke_kserve(binary, objects):
    """Starts the server with the InferenceService predictor container's env, as KServe runs the image (its entrypoint
    is `histoae serve`), and a stand-in for the API-key Secret the operator creates: the probes' paths (read from
    the manifest) answer 200 without a key, the v2 API wants the key, a tritonclient-style infer request of one
    patch answers score and verdict of shape [1], SIGTERM → 0."""
    isvc = next(o for o in objects if o["kind"] == "InferenceService")
    container = isvc["spec"]["predictor"]["containers"][0]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    problems = [f"unknown setting {k}: the server ignores it" for k in unknown_settings(binary, env)]
    key = "smoke-test-key"
    process, address, failure = start(binary, env, key + "\n")
    if address is None:
        return problems + [failure]
    try:
        probes = [container[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe")
                  if "httpGet" in container.get(p, {})]
        model = model_name(address, key)
        expected = [(path, None, 200) for path in probes]
        expected += [(f"/v2/models/{model}/ready", None, 401 if "HISTOAE_API_KEYS_FILE" in env else 200),
                     (f"/v2/models/{model}/ready", key, 200)]
        for path, k, status in expected:
            got = get(address + path, k)
            if got != status:
                problems.append(f"GET {path}{' with key' if k else ''}: {got}, expected {status}")
        status, answer = infer_one_patch(address, model, key)
        shapes = {o.get("name"): o.get("shape") for o in answer.get("outputs", [])}
        if status != 200 or shapes != {"score": [1], "verdict": [1]}:
            problems.append(f"POST /v2/models/{model}/infer: {status}, outputs {shapes}; expected 200, score and "
                            "verdict of shape [1]")
    finally:
        problems += stop(process)
    return problems


SCAN_OUTPUTS = ("tiles.csv", "tiles.geojson", "heatmap.png", "summary.json")


def smoke_scan_job(binary, objects):
    """Runs the scan Job's own container script with bash, its container paths mapped to a temporary folder:
    /slides holds the listed slides (links to the shared CMU sample), plus a broken slide and a line climbing
    out of the volume. Index 0 must write the four outputs next to its slide; the broken slide must end its
    index with exit 0 and a `.failed` note; the climbing line must scan nothing."""
    job = next(o for o in objects if o["kind"] == "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    script = container["args"][0]
    listed = next(o for o in objects if o["kind"] == "ConfigMap")["data"]["slides.txt"].split()
    data = ROOT.parent / "shared" / "data" / "slides"
    tmp = pathlib.Path(tempfile.mkdtemp())
    slides = tmp / "slides"
    for line in listed:
        (slides / line).parent.mkdir(parents=True, exist_ok=True)
        (slides / line).symlink_to(data / "cmu-1-small-region.svs")
    (slides / "broken").mkdir()
    (slides / "broken" / "broken.svs").symlink_to(data / "broken.svs")
    lines = listed + ["broken/broken.svs", "../outside.svs"]
    (tmp / "slides.txt").write_text("\n".join(lines) + "\n")
    mapped = (script.replace("/etc/histoae/scan/slides.txt", str(tmp / "slides.txt"))
              .replace("/app/bin/histoae", str(pathlib.Path(binary).resolve()))
              .replace("/app/models/default", str(ROOT / "models" / "default"))
              .replace('"/slides/', f'"{slides}/'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HISTOAE_")}
    problems = []

    def run(index):
        r = subprocess.run(["/bin/bash", "-c", mapped], env={**env, "JOB_COMPLETION_INDEX": str(index)},
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            problems.append(f"index {index} ({lines[index]}): exit {r.returncode}: {r.stderr.strip()[-300:]}")
        return r

    run(0)
    out = (slides / listed[0]).parent / "histoae" / pathlib.Path(listed[0]).stem
    missing = [f for f in SCAN_OUTPUTS if not (out / f).is_file()]
    if missing:
        problems.append(f"index 0 wrote no {', '.join(missing)} under {out.relative_to(tmp)}")
    run(len(listed))
    if not (slides / "broken" / "histoae" / "broken.svs.failed").is_file():
        problems.append("the broken slide left no broken.svs.failed note")
    r = run(len(listed) + 1)
    if "not a path under the volume" not in r.stderr or (tmp / "histoae").exists():
        problems.append("a slide path climbing out of the volume was not refused")
    return problems


def main():
    binary, files = sys.argv[1], sys.argv[2:]
    failed = 0
    for rendered in files:
        name = pathlib.Path(rendered).stem
        objects = [o for o in yaml.safe_load_all(open(rendered)) if o]
        if any(o["kind"] == "Job" for o in objects):
            problems = smoke_scan_job(binary, objects)
            what = "the Job's script scanned its slide, recorded a broken one, refused a path out of the volume"
        elif any(o["kind"] == "InferenceService" for o in objects):
            problems = smoke_kserve(binary, objects)
            what = "server started with the predictor's env, v2 health without a key, v2 infer with one, SIGTERM → 0"
        else:
            problems = smoke(binary, rendered)
            what = "server started with its settings, probes and keys answered, SIGTERM → 0"
        for p in problems:
            print(f"    {name}: {p}")
        print(f"    {name}: {'ok' if not problems else 'FAILED'} ({what})")
        failed += bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
