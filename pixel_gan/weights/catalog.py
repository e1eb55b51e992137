"""Which pretrained weights a composed config needs, and where each comes from.

The rules mirror the loaders: ``model.backbone=pretrained`` loads ``model.pretrained``; the ``clip``
discriminator loads ``model.clip_pretrained``; LPIPS always loads the lpips package's linear layers
and, except on the demo/tiny backbones, torchvision's VGG/AlexNet file; set ``metrics.*`` keys load
DINO and Inception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixel_gan.weights.files import url_hash_prefix
from pixel_gan.weights.locate import looks_like_path

#: SD-Turbo files the loaders cannot do without (``a|b``: either one; fetch tries them in order).
SD_TURBO_FILES = (
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors|unet/diffusion_pytorch_model.bin",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors|vae/diffusion_pytorch_model.bin",
    "text_encoder/config.json",
    "text_encoder/model.safetensors|text_encoder/pytorch_model.bin",
    "tokenizer/vocab.json|tokenizer/tokenizer.json",
    "tokenizer/tokenizer_config.json",
    "scheduler/scheduler_config.json",
)
#: Fetched along with them: every tokenizer file (SD-Turbo's special_tokens_map.json sets its pad token).
SD_TURBO_EXTRA = ("model_index.json", "tokenizer/*")
CLIP_FILES = ("config.json", "model.safetensors")  # the loader reads safetensors only
DINO_FILES = ("config.json", "model.safetensors|pytorch_model.bin")
TORCHVISION_URLS = {
    "vgg": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "alex": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
}
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


@dataclass(frozen=True)
class Need:
    """One pretrained weight a config needs.

    ``kind``: ``hub`` (a hub id, ``files`` inside its snapshot), ``url`` (a torch hub checkpoint
    file), ``path`` (a local directory holding ``files``, or a file when ``files`` is empty) or
    ``package`` (a file shipped inside an installed package).
    """

    name: str
    config_key: str
    kind: str
    source: str
    files: tuple[str, ...] = ()
    sha256_prefix: str | None = None
    extra: tuple[str, ...] = ()  # hub: patterns fetched with the first download, not required

    @property
    def filename(self) -> str:
        """The file name of a ``url`` need (its place in the checkpoints folder)."""
        return self.source.rsplit("/", 1)[-1]


def is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def _repo_or_path(name: str, config_key: str, source: str, files: tuple[str, ...], extra: tuple[str, ...] = ()) -> Need:
    if looks_like_path(source):
        return Need(name, config_key, "path", str(Path(source).expanduser()), files)
    return Need(name, config_key, "hub", source, files, extra=extra)


def lpips_linear_file(net: str) -> Path:
    """The LPIPS linear layers shipped in the lpips package (``lpips/weights/v0.1/<net>.pth``)."""
    import importlib.util

    spec = importlib.util.find_spec("lpips")
    root = Path(spec.origin).parent if spec and spec.origin else Path("lpips")
    return root / "weights" / "v0.1" / f"{net}.pth"


def _lpips_needs(model: Mapping[str, Any], loss: Mapping[str, Any]) -> list[Need]:
    net = str(loss.get("lpips_net", "vgg"))
    needs = [Need(f"LPIPS linear layers ({net})", "loss.lpips_net", "package", str(lpips_linear_file(net)))]
    if model.get("backbone") in ("demo", "tiny") or net not in TORCHVISION_URLS:
        return needs  # a random backbone on purpose (demo/tiny); an unknown net is the config check's error
    explicit = loss.get("lpips_backbone_weights")
    key, name = "loss.lpips_backbone_weights", f"LPIPS backbone ({net}, torchvision ImageNet)"
    if explicit:
        needs.append(Need(name, key, "path", str(Path(str(explicit)).expanduser())))
    else:
        url = TORCHVISION_URLS[net]
        needs.append(Need(name, key, "url", url, sha256_prefix=url_hash_prefix(url)))
    return needs


def _inception_need(source: str) -> Need:
    name, key = "InceptionV3 for FID/KID (torch-fidelity)", "metrics.fid.inception_weights"
    if is_url(source):
        return Need(name, key, "url", source)  # no published hash for this file
    path = Path(source).expanduser()
    return Need(name, key, "path", str(path), (INCEPTION_FILE,) if path.is_dir() else ())


def needed_weights(cfg: Mapping[str, Any]) -> list[Need]:
    """Every pretrained weight that training and evaluating with ``cfg`` (a plain dict) loads."""
    model, loss = dict(cfg.get("model") or {}), dict(cfg.get("loss") or {})
    metrics = dict(cfg.get("metrics") or {})
    needs = []
    if model.get("backbone") == "pretrained" and model.get("pretrained"):
        needs.append(
            _repo_or_path("SD-Turbo", "model.pretrained", str(model["pretrained"]), SD_TURBO_FILES, SD_TURBO_EXTRA)
        )
    if model.get("discriminator") == "clip" and model.get("clip_pretrained"):
        source = str(model["clip_pretrained"])
        needs.append(_repo_or_path("CLIP image tower (discriminator)", "model.clip_pretrained", source, CLIP_FILES))
    needs += _lpips_needs(model, loss)
    dino = (metrics.get("dino") or {}).get("pretrained")
    if dino:
        needs.append(_repo_or_path("DINO ViT-B/8 (val/dino_struct)", "metrics.dino.pretrained", str(dino), DINO_FILES))
    inception = (metrics.get("fid") or {}).get("inception_weights")
    if inception:
        needs.append(_inception_need(str(inception)))
    return needs
