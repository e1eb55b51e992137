"""FID and KID between translated test_A images and real test_B images.

Statistics come from torchmetrics; features from torch-fidelity's InceptionV3
(the standard FID network). Its weights are downloaded by default, which is
impossible offline, so they come from `metrics.fid.inception_weights`: the
release URL (model=sd_turbo's default; read from the torch hub cache, downloaded
there when missing and online) or a local file. Without them the result says
"unavailable (...)" instead of a number: an FID from a random network would look
valid and mean nothing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from pixel_gan.weights import WeightsNotFoundError, load_or_explain, load_tensors, resolve_pretrained
from pixel_gan.weights.catalog import INCEPTION_FILE, is_url
from pixel_gan.weights.files import cached_url_file

CONFIG_KEY = "metrics.fid.inception_weights"
LAYOUT = (
    f"the file {INCEPTION_FILE} (torch-fidelity's InceptionV3 state dict, release v0.2.0), a directory holding it, "
    "or its release URL (then read from the torch hub cache; `pixel-gan weights fetch` fills one)"
)
INCEPTION_SIZE = 299
MAX_KID_SUBSET = 50


def load_inception(path: str) -> nn.Module:
    """torch-fidelity InceptionV3 (2048-d pool features) from a local weights file or its URL.

    Input: uint8 (B, 3, H, W); it resizes to 299 itself. torch-fidelity reads
    the file with a full unpickle, so it is first opened with
    `weights_only=True`, which refuses anything but plain tensors.
    """
    if is_url(path):
        resolved = cached_url_file(path, CONFIG_KEY, LAYOUT)
    else:
        resolved = Path(resolve_pretrained(path, CONFIG_KEY, LAYOUT, required_files=[]))
    if resolved.is_dir():
        resolved = Path(resolve_pretrained(str(resolved), CONFIG_KEY, LAYOUT, [INCEPTION_FILE])) / INCEPTION_FILE
    load_tensors(resolved, f"{CONFIG_KEY}={path!r}:")  # refuses code before torch-fidelity's full unpickle
    from torchmetrics.image.fid import NoTrainInceptionV3

    return load_or_explain(
        lambda: NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(resolved)
        ),
        path,
        CONFIG_KEY,
        LAYOUT,
    )


def to_inception_input(x: Tensor, size: int = INCEPTION_SIZE) -> Tensor:
    """(B, 3, H, W) in [0, 1] -> uint8; images whose short side is below `size` are
    nearest-resized to size x size, keeping pixel-art edges hard instead of
    letting Inception's own bilinear resize blur them."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images (B, 3, H, W), got {tuple(x.shape)}")
    x = x.float()
    if min(x.shape[-2:]) < size:
        x = F.interpolate(x, size=(size, size), mode="nearest-exact")
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


class _Features(nn.Module):
    """Identity handed to torchmetrics: features are extracted once and fed to both FID and KID."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


class DistributionMetrics:
    """Accumulates fake/real images and reports FID, KID (mean, std) and notes.

    `feature_extractor` replaces Inception (tests, other backbones): it gets uint8
    (B, 3, H, W) from `to_inception_input` and returns (B, F) features.
    """

    def __init__(
        self,
        inception_weights: str | None,
        device: str | torch.device = "cpu",
        *,
        feature_extractor: nn.Module | None = None,
        kid_subsets: int = 100,
    ) -> None:
        self.device = torch.device(device)
        self.inception_weights = inception_weights
        self.kid_subsets = kid_subsets
        self.reason = ""
        self.extractor: nn.Module | None = feature_extractor
        self.extractor_name = "InceptionV3 pool3 (2048-d)" if feature_extractor is None else "custom extractor"
        if self.extractor is None:
            self.extractor = self._try_inception(inception_weights)
        self.num_features = 2048 if feature_extractor is None else 0
        if self.extractor is not None:
            self.extractor = self.extractor.to(self.device).eval()
        if feature_extractor is not None:  # size the statistics from one probe image
            probe = to_inception_input(torch.zeros(1, 3, INCEPTION_SIZE, INCEPTION_SIZE, device=self.device))
            with torch.inference_mode():
                self.num_features = int(self.extractor(probe).flatten(1).shape[-1])
        self._fid: FrechetInceptionDistance | None = None
        self._kid: KernelInceptionDistance | None = None
        self.reset()

    @property
    def available(self) -> bool:
        return self.extractor is not None

    def _try_inception(self, path: str | None) -> nn.Module | None:
        if not path:
            self.reason = f"{CONFIG_KEY} not set"
            return None
        try:
            return load_inception(path)
        except WeightsNotFoundError:
            self.reason = f"weights not found at {path}; set {CONFIG_KEY} to the path of {INCEPTION_FILE}"
        except ModuleNotFoundError:
            self.reason = "torch-fidelity is not installed"
        return None

    def reset(self) -> None:
        """Forget all accumulated images."""
        self.n_fake = self.n_real = self.n_upscaled = 0
        if self.extractor is None:
            return
        features = _Features(self.num_features)
        self._fid = FrechetInceptionDistance(feature=features).to(self.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "KID keeps all features": a test set is small
            self._kid = KernelInceptionDistance(feature=features, subsets=self.kid_subsets).to(self.device)

    @torch.inference_mode()
    def update(self, fake: Tensor, real: Tensor) -> None:
        """Add a batch of translated (fake) and real target images, (B, 3, H, W) in [0, 1]."""
        self.n_fake += fake.shape[0]
        self.n_real += real.shape[0]
        if self.extractor is None:
            return
        for images, is_real in ((fake, False), (real, True)):
            if images.shape[0] == 0:
                continue
            if min(images.shape[-2:]) < INCEPTION_SIZE:
                self.n_upscaled += images.shape[0]
            feats = self.extractor(to_inception_input(images.to(self.device))).flatten(1).float()
            self._fid.update(feats, real=is_real)
            self._kid.update(feats, real=is_real)

    def compute(self) -> dict[str, float | str]:
        """{'fid', 'kid_mean', 'kid_std', 'notes'}; metric values are strings when unavailable."""
        n = min(self.n_fake, self.n_real)
        if self.extractor is None:
            reason = self.reason
        elif n < 2:
            reason = f"need at least 2 images per set, got fake={self.n_fake}, real={self.n_real}"
        else:
            reason = ""
        if reason:
            msg = f"unavailable ({reason})"
            return {"fid": msg, "kid_mean": msg, "kid_std": msg, "notes": self._notes(None)}
        subset = min(MAX_KID_SUBSET, n)
        self._kid.subset_size = subset
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # KID draws random subsets: keep reports reproducible
            kid_mean, kid_std = self._kid.compute()
        return {
            "fid": float(self._fid.compute()),
            "kid_mean": float(kid_mean),
            "kid_std": float(kid_std),
            "notes": self._notes(subset),
        }

    def _notes(self, kid_subset: int | None) -> str:
        parts = [f"{self.extractor_name} features; fake={self.n_fake}, real={self.n_real} images"]
        if self.n_upscaled:
            parts.append(
                f"{self.n_upscaled} images smaller than {INCEPTION_SIZE} px were nearest-upscaled "
                f"to {INCEPTION_SIZE}x{INCEPTION_SIZE}"
            )
        if kid_subset is not None:
            parts.append(f"KID: {self.kid_subsets} subsets of {kid_subset}")
            if kid_subset < MAX_KID_SUBSET:
                parts.append(f"fewer than {MAX_KID_SUBSET} images per set: FID/KID are biased and noisy")
        return "; ".join(parts)
