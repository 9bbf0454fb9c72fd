"""Live-server tests: every endpoint and every error status of openapi.yaml, against real `histoae serve`."""
import base64
import io
import json
import os
import threading
import time

import pytest
import requests
from PIL import Image

from conftest import Server, patch_bytes
from openapi_schemas import validate

PNG = {"Content-Type": "image/png"}


def problem(response: requests.Response, status: int) -> dict:
    """Asserts an RFC 9457 problem with `status` and returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    validate(body, "Problem")
    assert body["status"] == status and body["detail"]
    return body


def multipart(*patches: bytes, name: str = "patch", kind: str = "image/png") -> list:
    return [(name, (f"p{i}.png", data, kind)) for i, data in enumerate(patches)]


def png_size(data: bytes) -> tuple:
    return Image.open(io.BytesIO(data)).size


# MARK: open endpoints

def test_health_endpoints_need_no_key(server, session):
    assert session.get(server.url + "/healthz").json() == {"status": "alive"}
    ready = session.get(server.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["queue_capacity"] == 16


def test_openapi_document_is_the_repository_file(server, session):
    from openapi_schemas import SPEC
    import yaml
    response = session.get(server.url + "/openapi.yaml")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/yaml"
    assert yaml.safe_load(response.text) == SPEC


def test_model_card(server, session, auth):
    response = session.get(server.url + "/v1/model", headers=auth)
    card = response.json()
    validate(card, "ModelCard")
    assert card["name"] == "histoae-default" and "quantiles" in json.dumps(card["calibration"])
    assert response.headers["HistoAE-Precision"] in ("fp32", "bf16")


def cpuinfo(key: str) -> str:
    """The first processor's `key` line of /proc/cpuinfo ("" where there is none)."""
    with open("/proc/cpuinfo") as info:
        return next((line.split(":", 1)[1].strip() for line in info if line.split(":", 1)[0].strip() == key), "")


def bf16_runs() -> bool:
    """The bf16 kernel can run here: AVX-512F/BW and AVX512-BF16, and the packed kernel (not
    HISTOAE_GEMM=openblas); elsewhere the server falls back to fp32."""
    flags = set(cpuinfo("flags").split())
    return {"avx512f", "avx512bw", "avx512_bf16"} <= flags and os.environ.get("HISTOAE_GEMM") != "openblas"


@pytest.mark.skipif(not bf16_runs() or cpuinfo("vendor_id") == "AuthenticAMD",
                    reason="bf16 pays on this CPU (AMD) or cannot run at all: nothing falls back for being slower")
def test_bf16_server_runs_fp32_where_bf16_does_not_pay(png):
    """On a CPU with AVX512-BF16 where it is no faster than fp32 (Intel's, without AMX), `serve --precision bf16`
    logs why once and answers fp32."""
    s = Server("--precision", "bf16", "--max-patches", "2", env={"HISTOAE_API_KEYS": "", "HISTOAE_GEMM": ""})
    try:
        reason = "bf16 requested but AVX512-BF16 is no faster than fp32"
        s.wait_for_log(reason)
        response = requests.post(s.url + "/v1/score", data=png, headers=PNG)
        assert response.status_code == 200, response.text
        assert response.json()["precision"] == "fp32" and response.headers["HistoAE-Precision"] == "fp32"
        assert sum(reason in line for line in s.stderr_lines) == 1
    finally:
        assert s.terminate() == 0


@pytest.mark.skipif(not bf16_runs(), reason="this CPU cannot run bf16 (no AVX512-BF16): the server would run fp32")
def test_bf16_server_names_bf16_on_every_answer(png):
    """`histoae serve --precision bf16`: the /v1 answers (JSON and PNG) and /v1/model carry `HistoAE-Precision:
    bf16`, the JSON bodies `"precision": "bf16"`, and a /v2 infer response `parameters.precision`.
    HISTOAE_GEMM=avx512-bf16 runs the kernel on CPUs where it would not pay (Intel's), so it is tested there too."""
    s = Server("--precision", "bf16", "--max-patches", "2", env={"HISTOAE_API_KEYS": "", "HISTOAE_GEMM": "avx512-bf16"})
    try:
        model = requests.get(s.url + "/v1/model")
        assert model.headers["HistoAE-Precision"] == "bf16"
        for path, schema in (("/v1/score", "ScoreResponse"), ("/v1/reconstruct?maps=none", "ReconstructResponse")):
            response = requests.post(s.url + path, data=png, headers=PNG)
            assert response.status_code == 200, response.text
            validate(response.json(), schema)
            assert response.json()["precision"] == "bf16" and response.headers["HistoAE-Precision"] == "bf16"
        panel = requests.post(s.url + "/v1/reconstruct", data=png, headers={**PNG, "Accept": "image/png"})
        assert panel.status_code == 200 and panel.headers["HistoAE-Precision"] == "bf16"
        pixels = list(Image.open(io.BytesIO(png)).convert("RGB").tobytes())
        infer = requests.post(s.url + f"/v2/models/{model.json()['name']}/infer",
                              json={"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 150, 150, 3],
                                                "data": pixels}], "outputs": [{"name": "score"}]})
        assert infer.status_code == 200, infer.text
        validate(infer.json(), "InferenceResponse")
        assert infer.json()["parameters"] == {"precision": "bf16"}
    finally:
        assert s.terminate() == 0


# MARK: scoring and reconstruction

def test_score_png_and_jpeg(server, session, auth, png, jpeg):
    card = session.get(server.url + "/v1/model", headers=auth).json()
    for body, kind in [(png, "image/png"), (jpeg, "image/jpeg")]:
        response = session.post(server.url + "/v1/score", data=body, headers={**auth, "Content-Type": kind})
        assert response.status_code == 200, response.text
        result = response.json()
        validate(result, "ScoreResponse")
        (patch,) = result["patches"]
        assert patch["index"] == 0 and patch["name"] is None
        assert patch["model"]["weights_sha256"] == card["weights"]["sha256"]
        assert "reconstruction_png" not in patch
        assert result["precision"] == response.headers["HistoAE-Precision"] and result["precision"] in ("fp32", "bf16")
        timing = response.headers["Server-Timing"]
        assert all(f"{part};dur=" in timing for part in ("decode", "queue", "inference", "encode"))


def test_reconstruct_json_with_heatmaps(server, session, auth, png):
    response = session.post(server.url + "/v1/reconstruct", data=png, headers={**auth, **PNG})
    assert response.status_code == 200, response.text
    result = response.json()
    validate(result, "ReconstructResponse")
    (patch,) = result["patches"]
    assert png_size(base64.b64decode(patch["reconstruction_png"])) == (150, 150)
    assert patch["maps"]["format"] == "png"
    for key in ("mse_png", "ssim_png"):
        assert png_size(base64.b64decode(patch["maps"][key])) == (150, 150)


def test_reconstruct_maps_as_arrays_without_reconstruction(server, session, auth, png):
    response = session.post(server.url + "/v1/reconstruct?maps=array&reconstruction=false", data=png,
                            headers={**auth, **PNG})
    result = response.json()
    validate(result, "ReconstructResponse")
    maps = result["patches"][0]["maps"]
    assert maps["format"] == "array" and len(maps["mse"]) == len(maps["ssim"]) == 150 * 150
    assert "reconstruction_png" not in result["patches"][0]
    assert min(maps["mse"]) >= 0 and max(maps["ssim"]) <= 1.0001


def test_multipart_keeps_order_names_and_matches_single_requests(server, session, auth, png, png2, jpeg):
    response = session.post(server.url + "/v1/score", files=multipart(png, png2, jpeg), headers=auth)
    assert response.status_code == 200, response.text
    patches = response.json()["patches"]
    assert [p["index"] for p in patches] == [0, 1, 2] and [p["name"] for p in patches] == ["p0.png", "p1.png", "p2.png"]
    for body, batched in zip((png, png2, jpeg), patches):
        alone = session.post(server.url + "/v1/score", data=body, headers={**auth, **PNG}).json()["patches"][0]
        assert alone["statistics"] == batched["statistics"] and alone["score"] == batched["score"]


def test_accept_png_returns_one_picture(server, session, auth, png):
    headers = {**auth, **PNG, "Accept": "image/png"}
    panel = session.post(server.url + "/v1/reconstruct", data=png, headers=headers)
    assert panel.status_code == 200 and panel.headers["Content-Type"] == "image/png"
    width, height = png_size(panel.content)
    assert width > 4 * 150 and height > 150
    for picture in ("reconstruction", "mse", "ssim"):
        response = session.post(server.url + f"/v1/reconstruct?image={picture}", data=png, headers=headers)
        assert response.status_code == 200 and png_size(response.content) == (150, 150)


def test_metrics_count_requests_passes_and_scores(server, session, auth, png):
    session.post(server.url + "/v1/score", data=png, headers={**auth, **PNG})
    text = session.get(server.url + "/metrics").text
    for name in ("histoae_http_requests_total{", "histoae_queue_depth",
                 "histoae_queue_wait_seconds_bucket", "histoae_inference_seconds_bucket",
                 "histoae_anomaly_score_bucket", 'histoae_patches_total{outcome="scored"}', "histoae_model_info{"):
        assert name in text, name
    assert 'route="/v1/score",method="POST",status="200"' in text


# MARK: errors

def test_400_malformed_requests(server, session, auth, png):
    url = server.url + "/v1/reconstruct"
    assert "maps=gif" in problem(session.post(url + "?maps=gif", data=png, headers={**auth, **PNG}), 400)["detail"]
    problem(session.post(url + "?colour=1", data=png, headers={**auth, **PNG}), 400)
    problem(session.post(server.url + "/v1/score?timeout_ms=soon", data=png, headers={**auth, **PNG}), 400)
    problem(session.post(url, data=b"", headers={**auth, **PNG}), 400)
    problem(session.post(url, data=b"--x\r\n", headers={**auth, "Content-Type": "multipart/form-data"}), 400)
    wrong_name = session.post(url, files=multipart(png, name="image"), headers=auth)
    assert "'image'" in problem(wrong_name, 400)["detail"]
    truncated = b'--B\r\nContent-Disposition: form-data; name="patch"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n' + png[:500]
    problem(session.post(url, data=truncated, headers={**auth, "Content-Type": "multipart/form-data; boundary=B"}), 400)


def test_401_without_or_with_a_wrong_key(server, session, png):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = session.post(server.url + "/v1/score", data=png, headers={**PNG, **headers})
        problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    problem(session.get(server.url + "/v1/model"), 401)


def test_404_and_405(server, session, auth):
    problem(session.get(server.url + "/v2/score", headers=auth), 404)
    response = session.get(server.url + "/v1/score", headers=auth)
    problem(response, 405)
    assert response.headers["Allow"] == "POST"


def test_406_not_acceptable(server, session, auth, png, png2):
    problem(session.post(server.url + "/v1/score", data=png, headers={**auth, **PNG, "Accept": "text/html"}), 406)
    problem(session.post(server.url + "/v1/score", data=png, headers={**auth, **PNG, "Accept": "image/png"}), 406)
    response = session.post(server.url + "/v1/reconstruct", files=multipart(png, png2),
                            headers={**auth, "Accept": "image/png"})
    assert "one patch" in problem(response, 406)["detail"]


def test_413_body_or_patch_count_too_large(server, session, auth, png):
    big = png + bytes(1_100_000)
    body = problem(session.post(server.url + "/v1/score", data=big, headers={**auth, **PNG}), 413)
    assert body["limit_bytes"] == 1048576

    def chunks():   # no Content-Length: the limit is enforced while streaming
        yield big[:600_000]
        yield big[600_000:]
    problem(session.post(server.url + "/v1/score", data=chunks(), headers={**auth, **PNG}), 413)
    assert problem(session.post(server.url + "/v1/score", files=multipart(*[png] * 5), headers=auth), 413)["max_patches"] == 4


def test_415_unsupported_media_type(server, session, auth, png):
    problem(session.post(server.url + "/v1/score", data=png, headers={**auth, "Content-Type": "text/plain"}), 415)
    problem(session.post(server.url + "/v1/score", data=png, headers=auth | {"Content-Type": ""}), 415)
    problem(session.post(server.url + "/v1/score", files=multipart(png, kind="text/plain"), headers=auth), 415)


def test_422_undecodable_wrong_size_and_bombs(server, session, auth, png):
    assert "cannot be decoded" in problem(session.post(server.url + "/v1/score", data=b"not an image at all",
                                                       headers={**auth, **PNG}), 422)["detail"]
    problem(session.post(server.url + "/v1/score", data=png[:300], headers={**auth, **PNG}), 422)
    small = patch_bytes("ScoringTests/Fixtures/quality.png")
    body = problem(session.post(server.url + "/v1/reconstruct", data=small, headers={**auth, **PNG}), 422)
    w, h = png_size(small)
    assert (body["width"], body["height"], body["patch"]) == (w, h, 0) and f"{w}×{h}" in body["detail"]
    for bomb in ("bomb_5000x5000.png", "bomb_5000x5000.jpg"):
        data = patch_bytes(f"ImageCodecsTests/Fixtures/{bomb}")
        problem(session.post(server.url + "/v1/score", data=data, headers={**auth, **PNG}), 422)
    # A bad part among good ones names its index; nothing is scored.
    response = session.post(server.url + "/v1/score", files=multipart(png, b"garbage", png), headers=auth)
    assert problem(response, 422)["patch"] == 1


def test_503_when_the_queue_is_full_and_504_past_the_deadline(slow_server, session, png):
    url = slow_server.url + "/v1/score"
    # Four patches fill the 4-patch queue for 1.5 s (the worker waits before its pass).
    first = {}
    thread = threading.Thread(target=lambda: first.update(r=requests.post(url, files=multipart(*[png] * 4))))
    thread.start()
    deadline = time.monotonic() + 30
    while session.get(slow_server.url + "/metrics").text.find("histoae_queue_depth 4") < 0:
        assert time.monotonic() < deadline, "the queue never filled"
        time.sleep(0.02)
    problem(session.get(slow_server.url + "/readyz"), 503)
    refused = session.post(url, data=png, headers=PNG)
    body = problem(refused, 503)
    assert int(refused.headers["Retry-After"]) >= 1 and body["retry_after_seconds"] >= 1
    thread.join(timeout=60)
    assert first["r"].status_code == 200 and len(first["r"].json()["patches"]) == 4

    started = time.monotonic()
    late = session.post(url + "?timeout_ms=100", data=png, headers=PNG)
    assert "100 ms" in problem(late, 504)["detail"]
    assert time.monotonic() - started < 1.4     # answered at the deadline, before the pass would have run


def test_service_survives_every_error(server, session, auth, png):
    assert session.get(server.url + "/healthz").status_code == 200
    assert session.post(server.url + "/v1/score", data=png, headers={**auth, **PNG}).status_code == 200


def test_disconnected_clients_patches_are_dropped_before_compute(slow_server, session, png):
    import socket
    from urllib.parse import urlparse

    def counter(outcome: str) -> float:
        for line in session.get(slow_server.url + "/metrics").text.splitlines():
            if line.startswith(f'histoae_patches_total{{outcome="{outcome}"}}'):
                return float(line.split()[-1])
        return 0.0

    # The previous test's last patch (its client timed out at 100 ms) stays queued until the worker's 1.5 s
    # wait before its pass ends and it drops it: start from an empty queue, or the depth never reads 1 below.
    deadline = time.monotonic() + 10
    while "histoae_queue_depth 0" not in session.get(slow_server.url + "/metrics").text:
        assert time.monotonic() < deadline, "the queue never emptied"
        time.sleep(0.02)
    dropped, scored = counter("dropped"), counter("scored")
    address = urlparse(slow_server.url)
    with socket.create_connection((address.hostname, address.port)) as client:
        head = (f"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                f"Content-Length: {len(png)}\r\n\r\n").encode()
        client.sendall(head + png)
        deadline = time.monotonic() + 10
        while "histoae_queue_depth 1" not in session.get(slow_server.url + "/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    # The pass would run 1.5 s after queueing; the client is gone long before.
    deadline = time.monotonic() + 10
    while counter("dropped") < dropped + 1:
        assert time.monotonic() < deadline, "the patch of a disconnected client was not dropped"
        time.sleep(0.05)
    time.sleep(1.6)
    assert counter("scored") == scored
