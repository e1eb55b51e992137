"""FID/KID wrapper: unavailable without weights, correct statistics with an injected extractor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixel_gan.metrics.fid import CONFIG_KEY, INCEPTION_FILE, DistributionMetrics


class PooledColour(nn.Module):
    """uint8 (B, 3, H, W) -> 12 features (2x2 mean colours); remembers its last input."""

    def __init__(self) -> None:
        super().__init__()
        self.last: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self.last = x
        return F.adaptive_avg_pool2d(x.float() / 255, 2).flatten(1)


def _images(n: int, size: int, seed: int, scale: float = 1.0) -> Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * scale


def _assert_unavailable(result: dict[str, float | str], text: str) -> None:
    for key in ("fid", "kid_mean", "kid_std"):
        assert isinstance(result[key], str) and result[key].startswith("unavailable (")
        assert text in result[key]
    assert isinstance(result["notes"], str)


def test_no_weights_gives_unavailable_strings() -> None:
    metrics = DistributionMetrics(None)
    assert not metrics.available
    metrics.update(_images(4, 32, 0), _images(4, 32, 1))
    _assert_unavailable(metrics.compute(), CONFIG_KEY)


def test_missing_weights_file_names_the_path(tmp_path: Path) -> None:
    path = str(tmp_path / INCEPTION_FILE)
    metrics = DistributionMetrics(path)
    assert not metrics.available
    metrics.update(_images(4, 32, 0), _images(4, 32, 1))
    _assert_unavailable(metrics.compute(), f"weights not found at {path}")


def test_fid_of_set_with_itself_is_zero_and_of_different_sets_positive() -> None:
    same = DistributionMetrics(None, feature_extractor=PooledColour())
    assert same.available
    images = _images(16, 64, 0)
    same.update(images, images)
    result_same = same.compute()

    different = DistributionMetrics(None, feature_extractor=PooledColour())
    different.update(images, _images(16, 64, 1, scale=0.3))
    result_diff = different.compute()

    assert abs(result_same["fid"]) < 1e-6
    assert result_diff["fid"] > 0.1
    assert result_diff["kid_mean"] > 0.01 > abs(result_same["kid_mean"])
    assert set(result_same) == {"fid", "kid_mean", "kid_std", "notes"}


def test_small_images_are_nearest_upscaled_without_new_colours() -> None:
    extractor = PooledColour()
    metrics = DistributionMetrics(None, feature_extractor=extractor)
    palette = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.2, 0.4, 1.0]])
    index = torch.randint(0, 3, (2, 32, 32), generator=torch.Generator().manual_seed(0))
    pixel_art = palette[index].permute(0, 3, 1, 2)  # (2, 3, 32, 32), hard edges
    metrics.update(pixel_art, pixel_art)
    seen = extractor.last
    assert seen.dtype == torch.uint8 and seen.shape == (2, 3, 299, 299)
    colours = {tuple(c) for c in seen.permute(0, 2, 3, 1).reshape(-1, 3).tolist()}
    assert colours == {tuple(c) for c in (palette * 255).round().int().tolist()}
    assert "nearest-upscaled" in metrics.compute()["notes"]


def test_large_images_are_passed_at_their_size() -> None:
    extractor = PooledColour()
    metrics = DistributionMetrics(None, feature_extractor=extractor)
    metrics.update(_images(2, 320, 0), _images(2, 320, 1))
    assert extractor.last.shape == (2, 3, 320, 320)
    assert "nearest-upscaled" not in metrics.compute()["notes"]


def test_kid_subset_adapts_to_small_sets_and_is_reproducible() -> None:
    metrics = DistributionMetrics(None, feature_extractor=PooledColour(), kid_subsets=10)
    metrics.update(_images(5, 32, 0), _images(7, 32, 1, scale=0.5))
    rng = torch.get_rng_state()
    first, second = metrics.compute(), metrics.compute()
    assert torch.equal(rng, torch.get_rng_state())
    assert isinstance(first["kid_mean"], float) and first == second
    assert "subsets of 5" in first["notes"]


def test_too_few_images_is_unavailable() -> None:
    metrics = DistributionMetrics(None, feature_extractor=PooledColour())
    metrics.update(_images(1, 32, 0), _images(3, 32, 1))
    _assert_unavailable(metrics.compute(), "at least 2 images")


def test_inception_loads_from_weights_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real Inception path, with random weights saved where the real file would be."""
    fidelity = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    from torchmetrics.image.fid import NoTrainInceptionV3

    with monkeypatch.context() as patch, torch.random.fork_rng(devices=[]):
        patch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
        patch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
        torch.manual_seed(0)
        state = NoTrainInceptionV3("inception-v3-compat", ["2048"]).state_dict()
    torch.save(state, tmp_path / INCEPTION_FILE)

    metrics = DistributionMetrics(str(tmp_path))  # a directory holding the file works too
    assert metrics.available and metrics.num_features == 2048
    torch.testing.assert_close(metrics.extractor.state_dict()["fc.weight"], state["fc.weight"])
    metrics.update(_images(2, 32, 0), _images(2, 32, 1))
    # compute() is covered above; its 2048-d eigendecomposition would dominate this suite's time
    fake = torch.cat(metrics._kid.fake_features)
    assert fake.shape == (2, 2048) and torch.isfinite(fake).all()
    assert int(metrics._fid.real_features_num_samples) == 2


def test_weights_file_that_is_not_a_state_dict_is_refused(tmp_path: Path) -> None:
    path = tmp_path / INCEPTION_FILE
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=CONFIG_KEY):
        DistributionMetrics(str(path))
