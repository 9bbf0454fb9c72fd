"""Starts the real `histoae serve` with each rendered overlay's settings (its ConfigMap, and its generated
Secret's API keys where it has one) and checks what the pod's probes and clients will see:
/healthz and /readyz 200, the API closed without a key and open with one, /metrics open to Prometheus
(unless the overlay requires a key for it), then SIGTERM → exit 0. Catches settings the server refuses
(e.g. HISTOAE_MAX_PATCHES above HISTOAE_QUEUE_CAPACITY) before a cluster does.

    python3 deploy/tools/settings_smoke.py BINARY RENDERED.yaml...

A rendered scan Job (deploy/examples/scan-job) is run instead: its container script with bash, on the shared
slides (``smoke_scan_job``).

Only the bind address and port are changed (127.0.0.1, a free port), and paths of the container
(/app/models/default, a mounted model, the Secret's file) are mapped to this checkout's models/default and a
temporary key file.
"""
import base64
import os
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


def smoke(binary, rendered):
    objects = [o for o in yaml.safe_load_all(open(rendered)) if o]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    settings = {}
    for o in objects:
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] in refs:
            settings.update(o.get("data", {}))
    secrets = [o for o in objects if o["kind"] == "Secret"]
    tmp = tempfile.mkdtemp()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HISTOAE_")}
    env.update(settings)
    env["HISTOAE_HOST"], env["HISTOAE_PORT"] = "127.0.0.1", "0"
    env["HISTOAE_MODEL"] = str(ROOT / "models" / "default")  # the image's /app/models/default, or a mounted model
    key = None
    if "HISTOAE_API_KEYS_FILE" in settings:
        # The overlay's generated Secret if it has one, else a stand-in for the Secret the operator creates.
        data = next((base64.b64decode(s["data"]["keys"]).decode() for s in secrets if "keys" in s.get("data", {})),
                    "smoke-test-key\n")
        key = next(line.strip() for line in data.splitlines() if line.strip() and not line.startswith("#"))
        path = pathlib.Path(tmp) / "keys"
        path.write_text(data)
        env["HISTOAE_API_KEYS_FILE"] = str(path)
    process = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    problems = []
    try:
        address = None
        for line in process.stdout:
            if line.startswith("histoae: listening on "):
                address = line.split()[-1]
                break
        if address is None:
            process.wait(timeout=30)
            return [f"the server did not start: {process.stderr.read().strip()[-500:]}"]
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
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = "hung"
    if code != 0:
        problems.append(f"SIGTERM: exit {code}, expected 0")
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
