"""Train a pixel-art translator: ``python train.py experiment=64_palette`` (see conf/)."""

import logging

import hydra
from omegaconf import DictConfig

from pixel_gan.cli_errors import exit_on_user_error


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from pixel_gan.training import train

    with exit_on_user_error():
        metrics = train(cfg)
    name = cfg.get("optimized_metric")
    if name and name not in metrics:
        logging.getLogger(__name__).warning("optimized_metric=%s was not logged (logged: %s); returning None",
                                            name, ", ".join(sorted(metrics)) or "nothing")
    return metrics.get(name) if name else None


if __name__ == "__main__":
    main()
