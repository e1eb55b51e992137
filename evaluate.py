"""Evaluate trained runs and write a comparison report: ``python evaluate.py runs='outputs/multirun/...'``."""

import hydra
from omegaconf import DictConfig

from pixel_gan.cli.errors import exit_on_user_error


@hydra.main(version_base="1.3", config_path="pixel_gan/conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from pixel_gan.evaluation.pipeline import run_evaluation
    from pixel_gan.logging_utils import quiet_libraries

    quiet_libraries()
    with exit_on_user_error():
        out_dir = run_evaluation(cfg)
    print(f"report: {out_dir / 'report.html'}")


if __name__ == "__main__":
    main()
