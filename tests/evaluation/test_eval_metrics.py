"""The evaluation's batched metrics agree with the per-image library functions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixel_gan.evaluation.baselines import nearest_kmeans, pixeloe, pixeloe_status
from pixel_gan.evaluation.metrics import EvalSet, Scorer, pixel_metrics
from pixel_gan.metrics.pixel_art import domain_palette, palette_distance, pixel_art_metrics, to_batch


def random_images(n: int, size: tuple[int, int], seed: int) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]


def test_pixel_metrics_average_over_mixed_sizes_like_per_image_calls(tmp_path) -> None:
    refs = random_images(2, (32, 32), 0) + random_images(1, (32, 24), 1)
    outs = random_images(2, (32, 32), 2) + random_images(1, (32, 24), 3)
    art = to_batch(random_images(4, (32, 32), 4))
    test = EvalSet(tmp_path, [], [], [])
    test._real_b[32] = art
    got = pixel_metrics(refs, outs, test.palette(32))
    per_image = [pixel_art_metrics(r, o) for r, o in zip(refs, outs, strict=True)]
    for key in per_image[0]:
        assert got[key] == pytest.approx(np.mean([m[key] for m in per_image]), rel=1e-5), key
    expected = np.mean([palette_distance(o, domain_palette(art)).item() for o in outs])  # per image
    assert got["palette_distance"] == pytest.approx(expected, rel=1e-5)


def test_unconfigured_weights_give_text_not_numbers() -> None:
    scorer = Scorer({"dino": {"pretrained": None}, "fid": {"inception_weights": None}})
    assert scorer.dino_status == "unavailable (not configured)"
    assert scorer.fid_status == "not configured"
    missing = Scorer({"dino": {"pretrained": "/nonexistent/dino"}, "fid": {"inception_weights": "/nonexistent/i.pth"}})
    assert missing.dino_status == "unavailable (weights not found at /nonexistent/dino)"
    assert missing.fid_status.startswith("unavailable (weights not found at /nonexistent/i.pth")
    assert len(missing.setup_hints()) == 2


def test_nearest_kmeans_baseline_is_pixel_art_of_the_requested_size() -> None:
    photo = random_images(1, (64, 48), 5)[0]
    out = nearest_kmeans(photo, (32, 24), cell=2, n_colors=16)
    assert out.size == (32, 24)
    arr = np.asarray(out)
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) <= 16
    assert (arr[::2, ::2] == arr[1::2, 1::2]).all()  # 2 × 2 cells


def test_pixeloe_baseline_runs_on_cpu() -> None:
    status = pixeloe_status()
    if status:
        pytest.skip(f"PixelOE {status}")
    photo = random_images(1, (64, 64), 6)[0]
    out = pixeloe(photo, (32, 32), n_colors=16)
    assert out.size == (32, 32)
    assert len(np.unique(np.asarray(out).reshape(-1, 3), axis=0)) <= 16


def test_missing_pixeloe_gives_a_not_installed_row(monkeypatch) -> None:
    import importlib.util

    from pixel_gan.evaluation.baselines import build_baselines

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pixeloe" else real(name, *a))
    baselines = {b.name: b for b in build_baselines({})}
    assert baselines["PixelOE"].status == "not installed (pip install pixeloe)"
    assert baselines["nearest + k-means"].status == ""
