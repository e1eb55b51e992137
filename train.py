"""Train a pixel-art translator: ``python train.py experiment=64_palette`` (see pixel_gan/conf/)."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from pixel_gan.cli.errors import exit_on_user_error
from pixel_gan.config import normalize_overrides


@hydra.main(version_base="1.3", config_path="pixel_gan/conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from pixel_gan.training import train

    with exit_on_user_error():
        metrics = train(cfg)
    name = cfg.get("optimized_metric")
    if name and name not in metrics:
        logging.getLogger(__name__).warning(
            "optimized_metric=%s was not logged (logged: %s); returning None",
            name,
            ", ".join(sorted(metrics)) or "nothing",
        )
    return metrics.get(name) if name else None


def run() -> None:
    """The command: overrides normalized (``resolution=64`` quoted, ``edge_preset.name=medium`` selects the file)."""
    sys.argv[1:] = normalize_overrides(sys.argv[1:])
    main()


if __name__ == "__main__":
    run()
