"""``train.py`` with one deliberate bug, so the learning test can show that it catches it.

    python tests/learning/variants.py BUG [train.py overrides...]

BUG is ``none`` (the real code), ``gan_sign`` (the generator's adversarial term pushes away from
domain B: a sign error in a loss) or ``captions_swapped`` (each direction is conditioned on its
source domain's caption instead of its target's).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path


def _flip_gan_sign() -> None:
    import pixel_gan.losses.terms as module

    original = module.generator_adversarial_loss
    module.generator_adversarial_loss = lambda logits: -original(logits)


def _swap_captions() -> None:
    from pixel_gan.models.generator import CycleGANTurbo

    original = CycleGANTurbo.from_backbone.__func__

    def swapped(cls, backbone, prompt_a, prompt_b, lora=None):
        return original(cls, backbone, prompt_b, prompt_a, lora)

    CycleGANTurbo.from_backbone = classmethod(swapped)


BUGS = {"none": lambda: None, "gan_sign": _flip_gan_sign, "captions_swapped": _swap_captions}

if __name__ == "__main__":
    bug, overrides = sys.argv[1], sys.argv[2:]
    BUGS[bug]()
    train_py = Path(__file__).resolve().parents[2] / "train.py"
    sys.argv = [str(train_py), *overrides]
    runpy.run_path(str(train_py), run_name="__main__")
