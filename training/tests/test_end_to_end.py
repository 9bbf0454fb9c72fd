"""Tiny end-to-end: train -> export (CLI), resume determinism, calibrate, evaluate."""

import json
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from histoae_training import expected_state_dict_shapes, load_model, stats
from histoae_training.calibrate import calibrate_model
from histoae_training.cli import main
from histoae_training.config import load_config
from histoae_training.evaluate import PatchSelection, gather_patches, per_patch_statistics
from histoae_training.export import sha256_file
from histoae_training.train import load_checkpoint, train


def test_train_log_and_checkpoints(tiny_run):
    run = tiny_run["run"]
    assert (run / "best.pt").exists() and (run / "last.pt").exists() and (run / "config.json").exists()
    lines = [json.loads(s) for s in (run / "log.jsonl").read_text().splitlines()]
    assert [r["event"] for r in lines] == ["start", "epoch", "epoch", "end"]
    for r in lines[1:3]:
        for split in ("train", "val"):
            assert set(r[split]) == {"loss", "mse", "l1", "ssim"}
            assert r[split]["loss"] == pytest.approx(r[split]["mse"] + r[split]["l1"] + 1 - r[split]["ssim"], rel=1e-5)
        assert r["crops_per_s"] > 0 and r["lr"] == pytest.approx(1e-3)
    assert lines[0]["val_crops"] == 2
    ck = load_checkpoint(run / "last.pt")
    assert ck["epoch"] == 2 and ck["finished"] == "max_epochs"
    assert ck["command"].startswith("python -m histoae_training train --config")


def test_export_files_and_card(tiny_run, test_patches):
    m = tiny_run["model"]
    weights, card_path = m / "model.safetensors", m / "model.json"
    expected = expected_state_dict_shapes()
    with safe_open(str(weights), framework="pt") as f:
        assert set(f.keys()) == set(expected)
        for k in f.keys():
            t = f.get_tensor(k)
            assert tuple(t.shape) == expected[k]
            assert t.dtype == (torch.int64 if k.endswith("num_batches_tracked") else torch.float16)
    card = json.loads(card_path.read_text())
    assert card["name"] == "histoae-tiny" and card["version"] == "1.0.0"
    assert card["weights"]["sha256"] == sha256_file(weights) and card["weights"]["dtype"] == "float16"
    assert card["input"]["width"] == card["input"]["height"] == 150
    assert card["normalization"]["formula"] == "y = (x/255 - 0.5)/0.5"
    assert {"alpha", "beta", "gamma", "weight_decay"} <= set(card["loss"])
    src = card["training_data"]["sources"]
    assert [s["name"] for s in src] == ["tiny-train", "tiny-val"] and all(s["licence"] for s in src)
    assert src[0]["rejected_by_tissue_filter"] == ["08_empty.png"]
    tr = card["training"]
    assert tr["epochs"] == 2 and tr["seconds"] > 0 and tr["device"].startswith("cpu") and "train" in tr["command"]
    # 2 validation crops are fewer than calibration needs: the card is written without a calibration block
    assert card["calibration"] is None
    # the validation figures are those of the exported weights on the held-out files, recomputed here
    model = load_model(weights)
    crops = gather_patches([test_patches / "val"], PatchSelection())
    values = per_patch_statistics(model, crops)
    v = card["validation"]
    assert v["patches"] == 2 and "tiny-val" in v["split"]
    for k in ("mse", "l1", "ssim"):
        assert v[k] == pytest.approx(float(np.mean(values[k])), rel=1e-9)


def dihedral_folder(src, dst, limit=None, darker_copies=False):
    """The 8 rotations/flips of every image under ``src`` written to ``dst`` (7 test patches -> 56), and with
    ``darker_copies`` each also 3 % darker (-> 112)."""
    dst.mkdir(parents=True)
    n = 0
    for p in sorted(src.rglob("*.png")):
        rgb = np.asarray(Image.open(p).convert("RGB"))
        for k in range(16 if darker_copies else 8):
            if limit is not None and n >= limit:
                return dst
            img = np.rot90(rgb[:, ::-1] if k % 8 >= 4 else rgb, k % 4)
            if k >= 8:
                img = (img.astype(np.uint16) * 97 // 100).astype(np.uint8)
            Image.fromarray(np.ascontiguousarray(img)).save(dst / f"{p.stem}_{k}.png")
            n += 1
    return dst


def test_calibrate_rewrites_only_calibration_and_version(tiny_run, tmp_path, test_patches):
    m = tmp_path / "model"
    shutil.copytree(tiny_run["model"], m)
    normals = dihedral_folder(test_patches, tmp_path / "normals")
    before = json.loads((m / "model.json").read_text())
    wbytes = (m / "model.safetensors").read_bytes()
    assert main(["calibrate", "--model", str(m), "--source", "site X normal colon, 56 tiles", str(normals)]) == 0
    after = json.loads((m / "model.json").read_text())
    assert (m / "model.safetensors").read_bytes() == wbytes
    assert set(after) == set(before) and list(after) == list(before)
    for k in before:
        if k not in ("calibration", "version"):
            assert after[k] == before[k], k
    cal = after["calibration"]
    assert cal != before["calibration"] and cal["source"] == "site X normal colon, 56 tiles"
    assert cal["patches"] == 56  # every curated patch file counts: the blank-glass tile's 8 copies too
    assert list(cal["statistics"]) == list(stats.STATISTIC_NAMES) and list(cal["methods"]) == list(stats.METHOD_NAMES)
    assert cal["statistics"]["tissue_fraction"]["quantiles"][0] < 0.05
    # the two passes: the plane of all 56 patches' pixels, then every statistic with it
    rgbs = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(normals.glob("*.png"))]
    assert cal["stain_plane"] == stats.fit_stain_plane(rgbs)
    values = per_patch_statistics(load_model(m / "model.safetensors"), gather_patches(
        [normals], PatchSelection(filter_patch_files=False)), stain_normal=cal["stain_plane"]["normal"])
    assert cal == stats.calibration_block(values, "site X normal colon, 56 tiles", cal["stain_plane"])
    assert after["version"] == f"1.0.0+cal.{stats.calibration_digest(cal)[:8]}"
    # evaluate uses a calibrated card's stain plane: all eight statistics
    from histoae_training.evaluate import evaluate
    summary, ev, _ = evaluate(m, [test_patches / "val"])
    assert list(summary["statistics"]) == list(stats.STATISTIC_NAMES)
    assert ev["stain_p99"] == [values["stain_p99"][i] for i in (16, 32)]  # 03_complex_0, 05_debris_0
    assert re.fullmatch(r"1\.0\.0\+cal\.[0-9a-f]{8}", after["version"])
    assert not list(m.glob("*.tmp"))
    # a second calibration replaces the build tag; --bump minor gives 1.1.0
    assert main(["calibrate", "--model", str(m), "--source", "again", "--bump", "minor",
                 str(test_patches / "val"), str(normals)]) == 0
    again = json.loads((m / "model.json").read_text())
    assert again["version"] == "1.1.0" and again["calibration"]["patches"] == 58
    # weights that do not match the card are refused
    (m / "model.safetensors").write_bytes(wbytes[:-1] + bytes([wbytes[-1] ^ 1]))
    with pytest.raises(ValueError, match="sha256"):
        main(["calibrate", "--model", str(m), "--source", "x", str(normals)])


def test_calibrate_refuses_49_patches(tiny_run, tmp_path, test_patches):
    m = tmp_path / "model"
    shutil.copytree(tiny_run["model"], m)
    few = dihedral_folder(test_patches, tmp_path / "few", limit=49)
    card = (m / "model.json").read_bytes()
    with pytest.raises(ValueError, match="only 49 patch.*at least 50"):
        main(["calibrate", "--model", str(m), "--source", "x", str(few)])
    assert (m / "model.json").read_bytes() == card


def test_calibrate_on_a_configs_validation_split(tiny_run, tmp_path, test_patches):
    """--validation-of: the held-out split export calibrates on (tissue-filtered like training), export's text."""
    m = tmp_path / "model"
    shutil.copytree(tiny_run["model"], m)
    root = tmp_path / "data"
    dihedral_folder(test_patches, root / "held-out", darker_copies=True)
    cfg = json.loads(tiny_run["config"].read_text())
    cfg["sources"] = [dict(cfg["sources"][0], path="patches/train"),
                      dict(cfg["sources"][1], name="held-out", path="held-out")]
    cfg["validation"]["max_crops_per_source"] = None
    shutil.copytree(test_patches / "train", root / "patches" / "train")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    assert main(["calibrate", "--model", str(m), "--validation-of", str(tmp_path / "cfg.json"),
                 "--data-root", str(root), "--bump", "minor", "--dry-run"]) == 0
    assert json.loads((m / "model.json").read_text())["version"] == "1.0.0"  # dry run: nothing written
    card = calibrate_model(m, [], validation_of=(tmp_path / "cfg.json", root), bump="minor")
    cal = card["calibration"]
    assert card["version"] == "1.1.0" and cal["patches"] == 96  # the 16 blank-glass copies fail the tissue filter
    assert cal["source"] == ("validation split of the training data (normal tissue): held-out validation split, "
                             "tissue-filtered 150x150 crops never overlapping training crops: held-out: 96 crops, "
                             "held-out files (1.0)")


def test_calibration_keeps_the_tissue_filter_on_slides(shared_data):
    from dataclasses import replace
    slide = shared_data / "slides" / "cmu-1-small-region.svs"
    sel = PatchSelection(region="val", stride=300)
    filtered = gather_patches([slide], sel)
    kept = gather_patches([slide], replace(sel, filter_patch_files=False))
    unfiltered = gather_patches([slide], replace(sel, tissue_filter=None))
    assert len(kept) == len(filtered) < len(unfiltered)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(kept, filtered))


def test_evaluate_command(tiny_run, tmp_path, test_patches, capsys):
    out, csv = tmp_path / "eval.json", tmp_path / "eval.csv"
    assert main(["evaluate", "--model", str(tiny_run["model"]), "--json", str(out), "--per-patch", str(csv),
                 str(test_patches / "val"), str(test_patches / "train" / "01_tumor.png")]) == 0
    summary = json.loads(out.read_text())
    assert summary["patches"] == 3 and summary["model_version"] == "1.0.0"
    # no calibration, no stain plane: the seven statistics that need none
    assert list(summary["statistics"]) == [k for k in stats.STATISTIC_NAMES if k != "stain_p99"]
    rows = csv.read_text().splitlines()
    assert rows[0] == "source,where,mse,l1,ssim,mse_p99,dssim_p99,tissue_fraction,sharpness" and len(rows) == 4


def test_config_and_precision():
    from histoae_training.config import DEFAULTS, apply_overrides, merge
    from histoae_training.train import resolve_precision

    cfg = apply_overrides(DEFAULTS, ["loss.gamma=0.5", "precision=bf16", "validation.stride=150"])
    assert cfg["loss"] == {"alpha": 1.0, "beta": 1.0, "gamma": 0.5} and cfg["precision"] == "bf16"
    assert DEFAULTS["loss"]["gamma"] == 1.0
    with pytest.raises(KeyError):
        apply_overrides(DEFAULTS, ["loss.delta=1"])
    with pytest.raises(KeyError):
        merge(DEFAULTS, {"epochz": 3})
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) in ("fp32", "bf16") and resolve_precision("fp32", cpu) == "fp32"
    with pytest.raises(ValueError):
        resolve_precision("fp16", cpu)


def test_default_config_loads():
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.json")
    assert cfg["crops_per_epoch"] == 3000 and cfg["epochs"] == 60 and cfg["lr"] == 1e-3
    assert cfg["weight_decay"] == 1e-5 and cfg["loss"] == {"alpha": 1.0, "beta": 1.0, "gamma": 1.0}
    assert [s["name"] for s in cfg["sources"]] == ["cmu-1-small-region", "tcga-cr-7395-01a-01-ts1", "kather2016"]
    assert all(s.get("val_region", {}).get("fraction") == 0.2 for s in cfg["sources"] if s["kind"] == "slide")


def test_run_folder_lock(tmp_path, test_patches):
    from histoae_training.train import _run_lock

    cfg = load_config(test_patches.parent.parent / "configs" / "tiny.json")
    with _run_lock(tmp_path):
        with pytest.raises(RuntimeError, match="another training process"):
            train(cfg, str(test_patches.parent), tmp_path, progress=False)
