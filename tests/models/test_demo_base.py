"""The shipped demo base: intact, reproducible from its recipe, and doing what a pretrained base does."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pixel_gan.data import demo
from pixel_gan.models import demo_base
from pixel_gan.models.backbone import DEMO_BASE_DIR, _build_parts, build_backbone

LOG = json.loads((DEMO_BASE_DIR / "train_log.json").read_text())
RECIPE = demo_base.Recipe(**{k: tuple(v) if isinstance(v, list) else v for k, v in LOG["recipe"].items()})
RERUN_STEPS = 4


@pytest.fixture(scope="module")
def base():
    return build_backbone("demo")


@pytest.fixture(scope="module")
def images() -> dict:
    """The pretraining images of the recipe (rendered once for both rerun tests)."""
    return demo_base.render_domains(RECIPE)


def _held_out(domain: str, count: int = 6, size: int = 64) -> torch.Tensor:
    """Demo-dataset test images (a seed stream the base never trained on), LANCZOS-resized like training."""
    images = [demo._image(0, domain, "test", i, 128) for i in range(count)]
    resized = [np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.LANCZOS)) for im in images]
    return demo_base.to_tensor(np.stack(resized))


def test_shipped_files_are_what_the_recipe_wrote(base):
    """The loaded tensors hash to the digest the pretraining command recorded."""
    assert demo_base.tensor_digest(base.unet, base.vae, base.text_encoder) == LOG["digest"]
    assert base.vae.config.scaling_factor == pytest.approx(LOG["scaling_factor"])
    assert sum(f.stat().st_size for f in DEMO_BASE_DIR.rglob("*") if f.is_file()) < 20 * 2**20


def _logged(stage: str, key: str) -> list[float]:
    return [e[key] for e in LOG["log"] if e["stage"] == stage][:RERUN_STEPS]


def test_vae_stage_reproduces_the_logged_losses(images):
    """Rerunning the first VAE steps from the seed retraces the log (tolerance: CPU kernel rounding)."""
    torch.set_num_threads(RECIPE.threads)
    _, vae, *_ = _build_parts(demo_base.DEMO_UNET, demo_base.DEMO_VAE, demo_base.DEMO_TEXT, RECIPE.seed)
    log: list[dict] = []
    demo_base.train_vae(vae, images, RECIPE, log, stop_after=RERUN_STEPS)
    np.testing.assert_allclose([e["recon"] for e in log], _logged("vae", "recon"), rtol=1e-4)


def test_unet_stage_reproduces_the_logged_losses(base, images):
    """The UNet stage from the shipped VAE's latents retraces its logged losses."""
    torch.set_num_threads(RECIPE.threads)
    unet, *_ = _build_parts(demo_base.DEMO_UNET, demo_base.DEMO_VAE, demo_base.DEMO_TEXT, RECIPE.seed)
    latents = demo_base.encode_all(base.vae, images)
    scaled = {size: z * base.vae.config.scaling_factor for size, z in latents.items()}
    log: list[dict] = []
    demo_base.train_unet(
        unet, scaled, demo_base.caption_embeddings(base), base.scheduler, RECIPE, log, stop_after=RERUN_STEPS
    )
    np.testing.assert_allclose([e["loss"] for e in log], _logged("unet", "loss"), rtol=1e-3)


@torch.no_grad()
def test_vae_reconstructs_both_domains_far_better_than_a_random_one(base):
    _, random_vae, *_ = _build_parts(demo_base.DEMO_UNET, demo_base.DEMO_VAE, demo_base.DEMO_TEXT, 123)
    for domain in "AB":
        x = _held_out(domain)
        errors = [
            float((vae.decode(vae.encode(x).latent_dist.mode()).sample - x).abs().mean())
            for vae in (base.vae, random_vae)
        ]
        # measured at 64 px: 0.10 (photos) and 0.16 (pixel art) against 0.42 and more for a random VAE
        assert errors[0] < 0.2 and errors[0] < errors[1] / 2, (domain, errors)
