"""The Open Inference Protocol (KServe v2, docs/open-inference.md) against a live `histoae serve --grpc-port 0`,
spoken by Triton's own clients, `tritonclient.http` and `tritonclient.grpc`, unchanged: health, metadata, inference
with JSON and binary tensors, the same bits as `/v1/reconstruct?maps=array` and `/v1/score`, the `fpr` request
parameter, and every error status of the contract on both transports."""
import base64
import importlib
import io
import re
import subprocess

import numpy as np
import pytest
import requests
from PIL import Image
from tritonclient.utils import InferenceServerException

from conftest import API_KEY, Server, histoae_binary

STATISTICS = ["mse", "l1", "ssim", "mse_p99", "dssim_p99", "tissue_fraction", "sharpness", "stain_p99"]
INPUTS = [{"name": "image", "datatype": "UINT8", "shape": [-1, 150, 150, 3]},
          {"name": "input", "datatype": "FP32", "shape": [-1, 3, 150, 150]}]
OUTPUTS = {"reconstruction": ("FP32", [3, 150, 150]), "score": ("FP64", []), "verdict": ("BYTES", []),
           "statistics": ("FP64", [8]), "mse_map": ("FP32", [150, 150]), "ssim_map": ("FP32", [150, 150])}
DATATYPES = {np.dtype(np.uint8): "UINT8", np.dtype(np.float32): "FP32"}
# How the three ways of sending tensors are named in the parametrized tests: (transport, binary tensors).
MODES = {"http-json": ("http", False), "http-binary": ("http", True), "grpc": ("grpc", True)}


def key() -> dict:
    """A fresh header dict on every call: tritonclient.http adds its own headers to the dict it is given."""
    return {"authorization": f"Bearer {API_KEY}"}


class Transport:
    """One of Triton's clients (`kind` "http" or "grpc") on the server, the two APIs' differences hidden:
    `transport.infer(model, "image", pixels, outputs=["score"])`."""

    def __init__(self, kind: str, address: str):
        self.kind = kind
        self.module = importlib.import_module(f"tritonclient.{kind}")
        self.client = self.module.InferenceServerClient(address)

    def infer(self, model: str, name: str, array: np.ndarray, outputs=None, binary=True, headers=None, **options):
        tensor = self.module.InferInput(name, list(array.shape), DATATYPES[array.dtype])
        requested = None
        if self.kind == "http":
            tensor.set_data_from_numpy(array, binary_data=binary)
            if outputs is not None:
                requested = [self.module.InferRequestedOutput(o, binary_data=binary) for o in outputs]
        else:
            tensor.set_data_from_numpy(array)
            if outputs is not None:
                requested = [self.module.InferRequestedOutput(o) for o in outputs]
        return self.client.infer(model, [tensor], outputs=requested, headers=key() if headers is None else headers,
                                 **options)

    def output_spec(self, result, name: str) -> tuple:
        """(datatype, shape, parameters) of one output of an answer."""
        output = result.get_output(name)
        if self.kind == "http":
            return output["datatype"], output["shape"], output.get("parameters", {})
        parameters = {k: getattr(v, v.WhichOneof("parameter_choice")) for k, v in output.parameters.items()}
        return output.datatype, list(output.shape), parameters

    def output_names(self, result) -> list:
        if self.kind == "http":
            return [o["name"] for o in result.get_response()["outputs"]]
        return [o.name for o in result.get_response().outputs]

    def server_metadata(self, headers=None) -> dict:
        options = {} if self.kind == "http" else {"as_json": True}
        return self.client.get_server_metadata(headers=key() if headers is None else headers, **options)

    def model_metadata(self, model: str, version: str = "", headers=None) -> dict:
        """The metadata as REST's JSON has it (gRPC's JSON form writes int64 shapes as strings)."""
        options = {} if self.kind == "http" else {"as_json": True}
        metadata = self.client.get_model_metadata(model, version, headers=key() if headers is None else headers,
                                                  **options)
        for tensor in metadata["inputs"] + metadata["outputs"]:
            tensor["shape"] = [int(d) for d in tensor["shape"]]
        return metadata

    def expect_error(self, call, http_status: int, grpc_code: str, fragment: str) -> None:
        """`call()` fails with the transport's status and a message containing `fragment`."""
        with pytest.raises(InferenceServerException) as error:
            call()
        expected = str(http_status) if self.kind == "http" else f"StatusCode.{grpc_code}"
        assert error.value.status() == expected, error.value
        assert fragment in error.value.message(), error.value


# MARK: fixtures

@pytest.fixture(scope="session")
def oip_server():
    """API keys on, 4 patches a request at most, gRPC on a free port (its address read from the log line)."""
    s = Server("--max-patches", "4", "--grpc-port", "0", env={"HISTOAE_API_KEYS": API_KEY})
    try:
        line = s.wait_for_log("grpc listening")
    except RuntimeError:
        s.process.kill()
        raise
    s.grpc_address = re.search(r'address["=: ]+"?([0-9A-Za-z.\[\]:-]+:[0-9]+)', line).group(1)
    yield s
    assert s.terminate() == 0


@pytest.fixture(scope="session")
def transports(oip_server) -> dict:
    return {"http": Transport("http", oip_server.url.removeprefix("http://")),
            "grpc": Transport("grpc", oip_server.grpc_address)}


@pytest.fixture(params=["http", "grpc"])
def oip(request, transports) -> Transport:
    return transports[request.param]


@pytest.fixture(scope="session")
def model(oip_server) -> tuple:
    """(name, version) of the model card, as /v1 reports them."""
    card = requests.get(oip_server.url + "/v1/model", headers=key()).json()
    return card["name"], card["version"]


@pytest.fixture(scope="session")
def pixels(png, png2) -> np.ndarray:
    """patch0.png and patch1.png decoded by Pillow: [2, 150, 150, 3] UINT8."""
    return np.stack([np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in (png, png2)])


@pytest.fixture(scope="session")
def reference(oip_server, png, png2) -> list:
    """The two patches' answers from /v1/reconstruct?maps=array (one multipart request)."""
    response = requests.post(oip_server.url + "/v1/reconstruct?maps=array", headers=key(),
                             files=[("patch", (f"p{i}.png", data, "image/png")) for i, data in enumerate((png, png2))])
    assert response.status_code == 200, response.text
    return response.json()["patches"]


@pytest.fixture(scope="session")
def answers(transports, model, pixels) -> dict:
    """Per mode of MODES: (transport, result) of one request for every output of the two patches."""
    found = {}
    for mode, (kind, binary) in MODES.items():
        transport = transports[kind]
        found[mode] = transport, transport.infer(model[0], "image", pixels, outputs=list(OUTPUTS), binary=binary)
    return found


def text(values: np.ndarray) -> list:
    """BYTES elements as str: tritonclient gives bytes from binary data and gRPC, str from JSON."""
    return [v.decode() if isinstance(v, bytes) else v for v in values]


def normalize(pixels: np.ndarray) -> np.ndarray:
    """docs/model.md §3 in float32, in its order ((u/255 − 0.5)/0.5), as [N, 3, H, W]."""
    y = (pixels.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def denormalize(reconstruction: np.ndarray) -> np.ndarray:
    """Normalization.denormalize: ((x·0.5 + 0.5)·255) in Float32, `.rounded()` (half away from zero), clamped to
    0…255, as [H, W, 3] UINT8. The float32 value plus 0.5 is exact in float64, so floor(|v| + 0.5) rounds it."""
    v = ((reconstruction.astype(np.float32) * np.float32(0.5) + np.float32(0.5)) * np.float32(255)).astype(np.float64)
    rounded = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(rounded, 0, 255).astype(np.uint8).transpose(1, 2, 0)


# MARK: health and metadata

def test_health_needs_no_key(oip, oip_server):
    """Server live and ready answer without a key on both transports, as Kubernetes' probes call them."""
    assert oip.client.is_server_live() and oip.client.is_server_ready()
    for route in ("/v2/health/live", "/v2/health/ready"):
        assert requests.get(oip_server.url + route).status_code == 200


def test_server_metadata(oip):
    """The server's name, release (as `histoae --version` prints it) and the binary tensor extension."""
    release = subprocess.run([str(histoae_binary()), "--version"], capture_output=True, text=True).stdout.strip()
    metadata = oip.server_metadata()
    assert metadata["name"] == "histoae" and metadata["version"] == release
    assert "binary_tensor_data" in metadata["extensions"]


def test_model_metadata_is_the_contract(oip, model):
    """Name and version are the card's; the two inputs and six outputs have the documented datatypes and shapes;
    asking by version gives the same answer. REST also names the statistics' columns."""
    name, version = model
    metadata = oip.model_metadata(name)
    assert metadata["name"] == name and metadata["versions"] == [version]
    assert [{k: t[k] for k in ("name", "datatype", "shape")} for t in metadata["inputs"]] == INPUTS
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["outputs"]] == \
        [(n, datatype, [-1, *shape]) for n, (datatype, shape) in OUTPUTS.items()]
    if oip.kind == "http":
        statistics = next(t for t in metadata["outputs"] if t["name"] == "statistics")
        assert statistics["parameters"]["names"] == STATISTICS
    assert oip.model_metadata(name, version) == metadata


def test_model_ready_with_and_without_version(oip, model):
    """The model is ready by name and by name and version; an unknown version is not found."""
    name, version = model
    assert oip.client.is_model_ready(name, headers=key())
    assert oip.client.is_model_ready(name, version, headers=key())
    if oip.kind == "http":      # tritonclient.http answers False for any status but 200
        assert not oip.client.is_model_ready(name, "9.9.9", headers=key())
    else:
        oip.expect_error(lambda: oip.client.is_model_ready(name, "9.9.9", headers=key()), 404, "NOT_FOUND", "9.9.9")


# MARK: inference

@pytest.mark.parametrize("mode", MODES)
def test_outputs_have_the_documented_datatypes_and_shapes(answers, mode):
    """Each of the six outputs comes back with its datatype and [N, …] shape, statistics naming their columns."""
    transport, result = answers[mode]
    for name, (datatype, shape) in OUTPUTS.items():
        got_datatype, got_shape, parameters = transport.output_spec(result, name)
        assert (got_datatype, got_shape) == (datatype, [2, *shape]), name
        if name == "statistics":
            names = parameters["names"]
            assert (names if isinstance(names, list) else names.split(",")) == STATISTICS


@pytest.mark.parametrize("mode", MODES)
def test_same_bits_as_v1_reconstruct(answers, reference, mode):
    """Scores and statistics equal /v1's float64 exactly; verdicts equal; the maps equal `maps=array` as float32;
    the reconstruction, de-normalized as the server does for its PNG, is that PNG's pixels."""
    _, result = answers[mode]
    for n, patch in enumerate(reference):
        assert result.as_numpy("score")[n] == patch["score"]
        assert text(result.as_numpy("verdict"))[n] == patch["verdict"]
        assert result.as_numpy("statistics")[n].tolist() == [patch["statistics"][s] for s in STATISTICS]
        assert np.array_equal(result.as_numpy("mse_map")[n], np.array(patch["maps"]["mse"], np.float32).reshape(150, 150))
        assert np.array_equal(result.as_numpy("ssim_map")[n],
                              np.array(patch["maps"]["ssim"], np.float32).reshape(150, 150))
        png = np.asarray(Image.open(io.BytesIO(base64.b64decode(patch["reconstruction_png"]))).convert("RGB"))
        assert np.array_equal(denormalize(result.as_numpy("reconstruction")[n]), png)


def test_every_answer_names_the_precision(answers, oip_server):
    """Each transport's infer response carries the response parameter `precision`: what /v1 says the model runs in."""
    expected = requests.get(oip_server.url + "/v1/model", headers=key()).headers["HistoAE-Precision"]
    assert expected in ("fp32", "bf16")
    for mode, (transport, result) in answers.items():
        if transport.kind == "http":
            assert result.get_response()["parameters"] == {"precision": expected}, mode
        else:
            parameters = result.get_response().parameters
            assert list(parameters) == ["precision"] and parameters["precision"].string_param == expected, mode


def test_json_binary_and_grpc_answers_are_identical(answers):
    """The way tensors travel changes no bit of any output."""
    arrays = {mode: {name: result.as_numpy(name) for name in OUTPUTS} for mode, (_, result) in answers.items()}
    for outputs in arrays.values():
        outputs["verdict"] = np.array(text(outputs["verdict"]))
    for mode in ("http-binary", "grpc"):
        for name in OUTPUTS:
            assert arrays[mode][name].dtype == arrays["http-json"][name].dtype, (mode, name)
            assert np.array_equal(arrays[mode][name], arrays["http-json"][name]), (mode, name)


def test_fp32_input_gives_the_same_reconstruction(oip, model, pixels, answers):
    """Normalized FP32 `input` (docs/model.md §3) is reconstructed, only that by default, to the same bits as the
    UINT8 `image` of the same patches; `image` without an outputs list gets all six outputs."""
    result = oip.infer(model[0], "input", normalize(pixels))
    assert oip.output_names(result) == ["reconstruction"]
    assert np.array_equal(result.as_numpy("reconstruction"), answers["http-json"][1].as_numpy("reconstruction"))
    assert sorted(oip.output_names(oip.infer(model[0], "image", pixels[:1]))) == sorted(OUTPUTS)


def test_fpr_parameter_moves_verdicts_as_v1_score_does(oip, oip_server, model, pixels, png, png2):
    """`parameters={"fpr": 0.5}` gives /v1/score?fpr=0.5's verdicts, the scores untouched. patch0 scores about 0.6:
    normal at the default threshold (0.99), anomalous at 0.5, so the parameter must change a verdict."""
    def v1(query: str) -> list:
        response = requests.post(oip_server.url + "/v1/score" + query, headers=key(),
                                 files=[("patch", (f"p{i}.png", d, "image/png")) for i, d in enumerate((png, png2))])
        assert response.status_code == 200, response.text
        return [p["verdict"] for p in response.json()["patches"]]

    default = oip.infer(model[0], "image", pixels, outputs=["score", "verdict"])
    by_fpr = oip.infer(model[0], "image", pixels, outputs=["score", "verdict"], parameters={"fpr": 0.5})
    verdicts = lambda result: text(result.as_numpy("verdict"))
    assert verdicts(default) == v1("") and verdicts(by_fpr) == v1("?fpr=0.5")
    assert verdicts(default) != verdicts(by_fpr)
    assert np.array_equal(default.as_numpy("score"), by_fpr.as_numpy("score"))


# MARK: errors

ERRORS = {   # case: (request changes, HTTP status, gRPC code, a fragment of the message)
    "unknown model": ({"model": "no-such-model"}, 404, "NOT_FOUND", "no-such-model"),
    "unknown version": ({"model_version": "9.9.9"}, 404, "NOT_FOUND", "9.9.9"),
    "wrong shape": ({"array": np.zeros((1, 149, 150, 3), np.uint8)}, 400, "INVALID_ARGUMENT", "shape"),
    "wrong rank": ({"array": np.zeros((150, 150, 3), np.uint8)}, 400, "INVALID_ARGUMENT", "shape"),
    "FP32 image": ({"array": np.zeros((1, 150, 150, 3), np.float32)}, 400, "INVALID_ARGUMENT", "UINT8"),
    "unknown input": ({"name": "pixels"}, 400, "INVALID_ARGUMENT", "pixels"),
    "5 patches, 4 allowed": ({"array": np.zeros((5, 150, 150, 3), np.uint8)}, 413, "RESOURCE_EXHAUSTED", "at most 4"),
    "no key": ({"headers": {}}, 401, "UNAUTHENTICATED", "API key"),
    "wrong key": ({"headers": {"authorization": "Bearer wrong"}}, 401, "UNAUTHENTICATED", "not valid"),
    "score from FP32 input": ({"name": "input", "array": np.zeros((1, 3, 150, 150), np.float32),
                               "outputs": ["score"]}, 400, "INVALID_ARGUMENT", "'score'"),
    "unknown parameter": ({"parameters": {"colour": "red"}}, 400, "INVALID_ARGUMENT", "colour"),
    "fpr out of range": ({"parameters": {"fpr": 1.5}}, 400, "INVALID_ARGUMENT", "fpr"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_inference_errors(oip, model, pixels, case):
    """Each malformed or refused request gets the contract's status on both transports and a line naming why."""
    changes, http_status, grpc_code, fragment = ERRORS[case]
    changes = {k: dict(v) if isinstance(v, dict) else v for k, v in changes.items()}   # tritonclient adds headers
    request = {"model": model[0], "name": "image", "array": pixels[:1], **changes}
    oip.expect_error(lambda: oip.infer(request.pop("model"), request.pop("name"), request.pop("array"), **request),
                     http_status, grpc_code, fragment)


def test_metadata_errors(oip, model):
    """Metadata needs a valid key; an unknown model's metadata is not found."""
    oip.expect_error(lambda: oip.model_metadata(model[0], headers={}), 401, "UNAUTHENTICATED", "API key")
    oip.expect_error(lambda: oip.model_metadata("no-such-model"), 404, "NOT_FOUND", "no-such-model")
    oip.expect_error(lambda: oip.server_metadata(headers={"authorization": "Bearer wrong"}), 401, "UNAUTHENTICATED",
                     "not valid")
