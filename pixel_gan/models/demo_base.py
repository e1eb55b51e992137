"""The demo base: small SD-Turbo-class models pretrained on CPU on the procedural demo domains.

A random base cannot be translated from: its one-step x0 at t=999 amplifies a random UNet output
by 1/√ᾱ₉₉₉ ≈ 14.6. This command trains, from a seed, what SD-Turbo's pretraining gives
CycleGAN-Turbo, on the two demo domains (photos and pixel art of procedural landscapes, unpaired):

1. ``AutoencoderKL``: reconstructs images of both domains (L1 + MSE + a small KL term) at the
   demo resolutions; its ``scaling_factor`` is then set to 1/std of the latents, as SD's was.
2. ``UNet2DConditionModel``: a caption-conditioned ε-prediction denoiser on those latents (the
   objective of Stable Diffusion), with each domain's fixed caption, timesteps drawn uniformly
   plus a share at t=999 (the one timestep CycleGAN-Turbo uses). Under a caption, its one-step x0
   at t=999 is then an image of that caption's domain.
3. ``CLIPTextModel`` + tokenizer: random and frozen (a seeded init); the UNet learns what the two
   caption embeddings mean. The scheduler is SD-Turbo's.

Everything is written in the hub layout, so ``model.pretrained`` loads it through the same
``from_pretrained`` path as SD-Turbo, and ``train_log.json`` records every loss so a rerun can be
checked against it. The demo photos and pixel art are drawn from their own seed stream, disjoint
from the demo dataset's (whose test split is the paired ground truth)::

    python -m pixel_gan.models.demo_base --out pixel_gan/assets/demo-base
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from pixel_gan.data import demo
from pixel_gan.models.backbone import TINY_TEXT, TINY_UNET, TINY_VAE, Backbone, _build_parts, save_backbone

# The tiny test configs, wider: 4.5 M parameters (18 MB in fp32) in all.
DEMO_UNET = {**TINY_UNET, "norm_num_groups": 16, "block_out_channels": (64, 128), "cross_attention_dim": 64}
DEMO_VAE = {**TINY_VAE, "norm_num_groups": 16, "block_out_channels": (32, 64, 64, 64)}
DEMO_TEXT = {**TINY_TEXT, "hidden_size": 64, "intermediate_size": 128, "projection_dim": 64}
CAPTIONS = (demo.PROMPT_A, demo.PROMPT_B)
RENDER_SIZE = 128  # the demo dataset's size; training sizes are LANCZOS-resized from it, as build_transform does
_STREAM = 7  # seed-stream tag of the pretraining images: never the demo dataset's (seed, domain, split, index)


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the result (with the seed); written into ``train_log.json``."""

    seed: int = 0
    images_per_domain: int = 512
    sizes: tuple[int, ...] = (32, 64, 128)
    vae_steps: int = 600
    vae_batch: int = 16
    vae_lr: float = 1e-3
    kl_weight: float = 1e-6
    unet_steps: int = 1500
    unet_batch: int = 32
    unet_lr: float = 5e-4
    t999_share: float = 0.25
    threads: int = 2


def render_domains(recipe: Recipe) -> dict[int, np.ndarray]:
    """size → uint8 array (2N, size, size, 3): N photos (domain A) then N pixel-art images (domain B)."""
    photos, art = [], []
    for i in range(recipe.images_per_domain):
        rng = np.random.default_rng([recipe.seed, _STREAM, 0, i])
        photos.append(demo.render_photo(demo.sample_scene(rng), RENDER_SIZE, rng))
        rng = np.random.default_rng([recipe.seed, _STREAM, 1, i])
        scene = demo.sample_scene(rng)
        art.append(demo.render_pixel_art(scene, int(rng.choice(demo.GRID_SIZES)), RENDER_SIZE))
    out = {}
    for size in recipe.sizes:
        resized = [
            np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.LANCZOS)) for im in photos + art
        ]
        out[size] = np.stack(resized)
    return out


def to_tensor(images: np.ndarray) -> Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def per_size_batch(batch_at_64: int, size: int) -> int:
    """The batch at ``size`` that holds as many pixels as ``batch_at_64`` images of 64 px (at least 2)."""
    return max(batch_at_64 * 64 * 64 // (size * size), 2)


def _batch(data: dict[int, np.ndarray], size: int, batch: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """A random batch at ``size`` and the domain of each image (0 = A, 1 = B)."""
    n = len(data[size])
    idx = torch.randint(0, n, (batch,), generator=gen)
    flip = torch.rand(batch, generator=gen) < 0.5
    x = to_tensor(data[size][idx.numpy()])
    x[flip] = x[flip].flip(-1)
    return x, (idx >= n // 2).long()


def _report(stage: str, step: int, total: int, entry: dict) -> None:
    if step % 100 == 0 or step == total - 1:
        values = ", ".join(f"{k} {v:.4f}" for k, v in entry.items() if isinstance(v, float))
        print(f"{stage} step {step + 1}/{total}: {values}", flush=True)


def train_vae(vae, data: dict[int, np.ndarray], recipe: Recipe, log: list[dict], stop_after: int | None = None) -> None:
    """Reconstruction of both domains at every size: L1 + MSE + kl_weight·KL, cosine LR.

    ``stop_after`` ends early (same schedule): a rerun of the first steps, to compare with a log.
    """
    gen = torch.Generator().manual_seed(recipe.seed + 1)
    opt = torch.optim.AdamW(vae.parameters(), lr=recipe.vae_lr, weight_decay=0.0)
    vae.train()
    for step in range(min(recipe.vae_steps, stop_after or recipe.vae_steps)):
        for group in opt.param_groups:
            group["lr"] = recipe.vae_lr * 0.5 * (1 + math.cos(math.pi * step / recipe.vae_steps))
        size = recipe.sizes[step % len(recipe.sizes)]
        x, _ = _batch(data, size, per_size_batch(recipe.vae_batch, size), gen)
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample(generator=gen)).sample
        rec = F.l1_loss(recon, x) + F.mse_loss(recon, x)
        kl = posterior.kl().mean() / x[0].numel()
        loss = rec + recipe.kl_weight * kl * x[0].numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        log.append({"stage": "vae", "step": step, "size": size, "recon": rec.item(), "kl": kl.item()})
        _report("vae", step, recipe.vae_steps, log[-1])
    vae.eval()


@torch.no_grad()
def encode_all(vae, data: dict[int, np.ndarray]) -> dict[int, Tensor]:
    """Posterior means (unscaled) of every image, per size."""
    return {
        size: torch.cat(
            [vae.encode(to_tensor(images[i : i + 64])).latent_dist.mode() for i in range(0, len(images), 64)]
        )
        for size, images in data.items()
    }


def train_unet(
    unet,
    latents: dict[int, Tensor],
    captions: Tensor,
    scheduler,
    recipe: Recipe,
    log: list[dict],
    stop_after: int | None = None,
) -> None:
    """ε-prediction on scaled latents under each domain's caption; t uniform, plus a share at t=999."""
    gen = torch.Generator().manual_seed(recipe.seed + 2)
    alphas = scheduler.alphas_cumprod.float()
    last = len(alphas) - 1
    opt = torch.optim.AdamW(unet.parameters(), lr=recipe.unet_lr, weight_decay=0.0)
    unet.train()
    for step in range(min(recipe.unet_steps, stop_after or recipe.unet_steps)):
        for group in opt.param_groups:
            warm = min(1.0, (step + 1) / 100)
            group["lr"] = recipe.unet_lr * warm * 0.5 * (1 + math.cos(math.pi * step / recipe.unet_steps))
        size = recipe.sizes[step % len(recipe.sizes)]
        pool = latents[size]
        idx = torch.randint(0, len(pool), (per_size_batch(recipe.unet_batch, size),), generator=gen)
        z0 = pool[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5
        z0[flip] = z0[flip].flip(-1)
        domain = (idx >= len(pool) // 2).long()
        t = torch.randint(0, last + 1, (len(idx),), generator=gen)
        t[torch.rand(len(idx), generator=gen) < recipe.t999_share] = last
        noise = torch.randn(z0.shape, generator=gen)
        a = alphas[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        eps = unet(zt, t, encoder_hidden_states=captions[domain]).sample
        loss = F.mse_loss(eps, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        log.append({"stage": "unet", "step": step, "size": size, "loss": loss.item()})
        _report("unet", step, recipe.unet_steps, log[-1])
    unet.eval()


def caption_embeddings(parts: Backbone) -> Tensor:
    """(2, 77, D): the text encoder's embeddings of domain A's and domain B's caption."""
    from pixel_gan.models.generator import embed_caption  # the generator module imports this package's backbone

    return torch.cat([embed_caption(parts, caption) for caption in CAPTIONS])


def tensor_digest(*modules: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer (names and bytes): identifies a set of weights."""
    h = hashlib.sha256()
    for module in modules:
        for name, tensor in sorted(module.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def build_demo_base(out: Path, recipe: Recipe = Recipe(), progress: bool = True) -> Path:
    """Train the demo base from ``recipe.seed`` and write it (hub layout + train_log.json) to ``out``."""
    torch.set_num_threads(recipe.threads)
    started = time.perf_counter()
    unet, vae, text_encoder, tokenizer, scheduler = _build_parts(DEMO_UNET, DEMO_VAE, DEMO_TEXT, recipe.seed)
    text_encoder.requires_grad_(False)
    data = render_domains(recipe)
    log: list[dict] = []
    train_vae(vae, data, recipe, log)
    latents = encode_all(vae, data)
    std = float(torch.cat([z.flatten() for z in latents.values()]).std())
    vae.register_to_config(scaling_factor=1.0 / std)
    scaled = {size: z / std for size, z in latents.items()}
    captions = caption_embeddings(Backbone(unet, vae, text_encoder, tokenizer, scheduler, source="demo"))
    train_unet(unet, scaled, captions, scheduler, recipe, log)
    out.mkdir(parents=True, exist_ok=True)
    save_backbone((unet, vae, text_encoder, tokenizer, scheduler), out)
    summary = {
        "recipe": asdict(recipe),
        "captions": list(CAPTIONS),
        "scaling_factor": 1.0 / std,
        "digest": tensor_digest(unet, vae, text_encoder),
        "seconds": round(time.perf_counter() - started, 1),
        "log": log,
    }
    (out / "train_log.json").write_text(json.dumps(summary, indent=1))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Pretrain the demo base (SD-Turbo classes, small) on the demo domains."
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vae-steps", type=int, default=Recipe.vae_steps)
    parser.add_argument("--unet-steps", type=int, default=Recipe.unet_steps)
    parser.add_argument("--images-per-domain", type=int, default=Recipe.images_per_domain)
    args = parser.parse_args(argv)
    recipe = Recipe(
        seed=args.seed, vae_steps=args.vae_steps, unet_steps=args.unet_steps, images_per_domain=args.images_per_domain
    )
    out = build_demo_base(args.out, recipe)
    print(f"demo base written to {out}")


if __name__ == "__main__":
    main()
