"""Procedural demo data: landscape "photos" (A) and landscape pixel art (B).

Training, the tests and the app can then run with nothing from outside. Both
domains are drawn from the same random scene description (sky, sun, clouds,
hill layers, trees, houses) but rendered differently:

- A: full resolution, smooth sky gradient with sun glow, soft (blurred) shape
  edges, shading and noise textures -> thousands of colours, like a photo.
- B: a 16x16 or 32x32 grid, only the 16 colours of ``PALETTE``, hard edges,
  dithered sky bands, dark outlines, then nearest-neighbour upscaled so every
  grid cell is a constant block.

Training is unpaired: train_A and train_B (and test_B) draw their scenes independently. The
test split is also paired: ``test_A_gt/NNNN.png`` is the pixel-art rendering of the scene of
``test_A/NNNN.png`` (see :mod:`pixel_gan.data.ground_truth`), which only validation and evaluation
read, so learning can be measured against a target.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pixel_gan.data.ground_truth import GT_FOLDER, GT_INFO, write_ground_truth_info

PROMPT_A = "a photo of a landscape"
PROMPT_B = "pixel art of a landscape"
GRID_SIZES = (16, 32)  # native pixel-art resolutions; demo sizes must be multiples of 32

# A fixed 16-colour retro palette (RGB); index 0 is the outline colour.
PALETTE = np.array(
    [
        (20, 16, 28),  # 0 outline
        (36, 52, 96),  # 1 night blue
        (72, 128, 200),  # 2 sky blue
        (140, 196, 236),  # 3 pale sky
        (244, 244, 236),  # 4 white
        (252, 212, 72),  # 5 sun yellow
        (228, 124, 52),  # 6 orange
        (176, 48, 48),  # 7 red
        (36, 92, 52),  # 8 dark green
        (72, 148, 64),  # 9 green
        (148, 200, 88),  # 10 light green
        (112, 72, 44),  # 11 brown
        (196, 152, 100),  # 12 tan
        (120, 120, 132),  # 13 grey
        (96, 64, 128),  # 14 purple
        (232, 160, 168),  # 15 pink
    ],
    dtype=np.uint8,
)
OUTLINE = 0

_SPLITS = {"train": 0, "test": 1}
_DOMAINS = {"A": 0, "B": 1}
_GT_STREAM = 2  # extra rng key of the ground truth's grid draw: the photos' own draws stay untouched


@dataclass(frozen=True)
class Shape:
    """A filled region: a boolean mask function of normalized (y, x) in [0, 1]², a palette colour.

    ``solid`` shapes (hills, trees, houses) get outlines in pixel art and shading in photos.
    """

    kind: str
    params: tuple[float, ...]
    colour: int
    solid: bool

    def mask(self, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return _MASKS[self.kind](yy, xx, *self.params)


def _disc(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def _hill(yy: np.ndarray, xx: np.ndarray, base: float, amp: float, freq: float, phase: float) -> np.ndarray:
    return yy >= base + amp * np.sin(2 * np.pi * freq * xx + phase)


def _rect(yy: np.ndarray, xx: np.ndarray, top: float, bottom: float, left: float, right: float) -> np.ndarray:
    return (yy >= top) & (yy <= bottom) & (xx >= left) & (xx <= right)


def _roof(yy: np.ndarray, xx: np.ndarray, apex: float, eave: float, cx: float, half: float) -> np.ndarray:
    """Triangle with its apex at (apex, cx) and base [cx - half, cx + half] at y = eave."""
    t = (yy - apex) / max(eave - apex, 1e-6)
    return (t >= 0) & (t <= 1) & (np.abs(xx - cx) <= half * t)


_MASKS: dict[str, Callable[..., np.ndarray]] = {
    "disc": _disc,
    "ellipse": _ellipse,
    "hill": _hill,
    "rect": _rect,
    "roof": _roof,
}


@dataclass(frozen=True)
class Scene:
    """Sky colours (palette indices) and shapes in paint order (back to front); shapes[0] is the sun."""

    sky_top: int
    sky_bottom: int
    shapes: tuple[Shape, ...]

    @property
    def sun(self) -> tuple[float, ...]:
        """(cy, cx, radius) of the sun, normalized; photos light their shapes from it."""
        return self.shapes[0].params


def sample_scene(rng: np.random.Generator) -> Scene:
    """Random landscape: sun, 0-3 clouds, 2-3 hill layers, 0-4 trees/houses on the front hill."""
    u = rng.uniform
    shapes: list[Shape] = [Shape("disc", (u(0.1, 0.35), u(0.15, 0.85), u(0.05, 0.1)), int(rng.choice([5, 4])), False)]
    for _ in range(rng.integers(0, 4)):
        cy, cx, rx = u(0.08, 0.35), u(0.1, 0.9), u(0.08, 0.16)
        shapes.append(Shape("ellipse", (cy, cx, rx * u(0.3, 0.5), rx), 4, False))
    layers = int(rng.integers(2, 4))
    bases = np.sort(u(0.45, 0.8, size=layers))
    far, near = [13, 14, 8, 1], [8, 9, 10, 12]
    for depth, base in enumerate(bases):
        colour = int(rng.choice(near if depth == layers - 1 else far))
        shapes.append(Shape("hill", (float(base), u(0.02, 0.1), u(0.5, 2.5), u(0, 2 * np.pi)), colour, True))
    front = shapes[-1].params
    for _ in range(rng.integers(0, 5)):
        x, s = u(0.1, 0.9), u(0.12, 0.25)
        ground = front[0] + front[1] * np.sin(2 * np.pi * front[2] * x + front[3]) + 0.03
        if rng.random() < 0.6:  # tree: trunk + crown
            shapes.append(Shape("rect", (ground - 0.5 * s, ground, x - 0.06 * s, x + 0.06 * s), 11, True))
            crown = int(rng.choice([8, 9, 10]))
            shapes.append(Shape("disc", (ground - 0.6 * s, x, 0.3 * s), crown, True))
        else:  # house: wall, roof, window
            w = 0.7 * s
            top = ground - 0.6 * s
            shapes.append(Shape("rect", (top, ground, x - w / 2, x + w / 2), int(rng.choice([12, 15, 4])), True))
            shapes.append(Shape("roof", (top - 0.4 * s, top, x, 0.6 * w), int(rng.choice([7, 6, 11])), True))
            shapes.append(Shape("rect", (top + 0.2 * s, top + 0.35 * s, x - 0.1 * s, x + 0.05 * s), 5, False))
    sky_top = int(rng.choice([1, 2]))
    sky_bottom = int(rng.choice([3, 15, 6]))
    return Scene(sky_top, sky_bottom, tuple(shapes))


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of an n x n image, normalized to [0, 1]."""
    c = (np.arange(n, dtype=np.float32) + 0.5) / n
    return np.meshgrid(c, c, indexing="ij")


def render_photo(scene: Scene, size: int, rng: np.random.Generator) -> np.ndarray:
    """Photo-like (size, size, 3) uint8: gradients, glow, soft edges, shading, noise."""
    yy, xx = _grid(size)
    colours = PALETTE.astype(np.float32) + rng.normal(0, 12, size=PALETTE.shape).astype(np.float32)
    t = yy[..., None]
    image = (1 - t) * colours[scene.sky_top] + t * colours[scene.sky_bottom]
    sun = scene.sun
    glow = np.exp(-((yy - sun[0]) ** 2 + (xx - sun[1]) ** 2) / (2 * (2.5 * sun[2]) ** 2))
    image += 70 * glow[..., None]
    blur = max(size / 128, 0.5)
    for shape in scene.shapes:
        alpha = cv2.GaussianBlur(shape.mask(yy, xx).astype(np.float32), (0, 0), blur * (3 if not shape.solid else 1))
        colour = colours[shape.colour]
        if shape.solid:
            texture = _smooth_noise(rng, size, cells=int(rng.integers(6, 20)))
            shade = 1.0 + 0.12 * texture - 0.25 * (yy - 0.5) * rng.uniform(-1, 1) + 0.1 * (sun[1] - xx)
            fill = colour * shade[..., None]
        else:
            fill = np.broadcast_to(colour, image.shape)
        image = image * (1 - alpha[..., None]) + fill * alpha[..., None]
    image += rng.normal(0, 4, size=image.shape)
    image = cv2.GaussianBlur(image, (0, 0), 0.6 * blur)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a random cells x cells grid upsampled bicubically."""
    coarse = rng.uniform(-1, 1, size=(cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def render_pixel_art(scene: Scene, grid: int, size: int) -> np.ndarray:
    """Pixel art (size, size, 3) uint8 with at most 16 colours and (size/grid)-pixel constant blocks."""
    yy, xx = _grid(grid)
    band = np.minimum((yy / 0.2).astype(int), 2)  # sky bands at y < 0.2, 0.2-0.4 (dithered), below
    checker = (np.add.outer(np.arange(grid), np.arange(grid)) % 2).astype(bool)
    index = np.where((band == 0) | ((band == 1) & checker), scene.sky_top, scene.sky_bottom)
    labels = np.zeros((grid, grid), dtype=np.int32)  # paint order; 0 = sky
    solid = [False]
    for order, shape in enumerate(scene.shapes, start=1):
        mask = shape.mask(yy, xx)
        index[mask] = shape.colour
        labels[mask] = order
        solid.append(shape.solid)
    index[_outline(labels, np.array(solid))] = OUTLINE
    art = PALETTE[index]
    return np.asarray(Image.fromarray(art).resize((size, size), Image.Resampling.NEAREST))


def _outline(labels: np.ndarray, solid: np.ndarray) -> np.ndarray:
    """Pixels of a solid shape with a 4-neighbour painted earlier (i.e. behind it)."""
    padded = np.pad(labels, 1, mode="edge")
    h, w = labels.shape
    behind = np.zeros_like(labels, dtype=bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        behind |= padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] < labels
    return behind & solid[labels]


def _image(seed: int, domain: str, split: str, index: int, size: int) -> np.ndarray:
    """One image, fixed by (seed, domain, split, index) regardless of how many are generated."""
    rng = np.random.default_rng([seed, _DOMAINS[domain], _SPLITS[split], index])
    scene = sample_scene(rng)
    if domain == "A":
        return render_photo(scene, size, rng)
    return render_pixel_art(scene, int(rng.choice(GRID_SIZES)), size)


def ground_truth_grid(seed: int, index: int) -> int:
    """The pixel-art grid (16 or 32) of test_A image ``index``'s ground truth, from its own rng stream."""
    rng = np.random.default_rng([seed, _DOMAINS["A"], _SPLITS["test"], index, _GT_STREAM])
    return int(rng.choice(GRID_SIZES))


def ground_truth_image(seed: int, index: int, size: int) -> np.ndarray:
    """test_A image ``index``'s scene as pixel art: its scene is the first draw of the photo's rng."""
    scene = sample_scene(np.random.default_rng([seed, _DOMAINS["A"], _SPLITS["test"], index]))
    return render_pixel_art(scene, ground_truth_grid(seed, index), size)


def _folder_complete(root: Path, folder: str, count: int) -> bool:
    return (root / folder).is_dir() and len(list((root / folder).glob("*.png"))) == count


def _write_folder(out: Path, count: int, render) -> None:
    """(Re)write ``out/0000.png``.. from ``render(i)``, removing numbered leftovers of other counts."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("[0-9][0-9][0-9][0-9].png"):
        stale.unlink()
    for i in range(count):
        Image.fromarray(render(i)).save(out / f"{i:04d}.png")


def generate_demo_dataset(root: str | Path, n_train: int = 48, n_test: int = 6, size: int = 128, seed: int = 0) -> Path:
    """Write train_A/train_B/test_A/test_B PNGs, the paired test_A_gt/ and the two prompt files under ``root``.

    Idempotent: a folder that already holds the expected number of PNGs is left as it is, so a
    demo folder written before the paired split existed only gets ``test_A_gt/`` added.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train} and {n_test}")
    if size < 32 or size % 32 != 0:
        raise ValueError(f"demo image size must be a positive multiple of 32, got {size}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    root = Path(root)
    counts = {f"{split}_{domain}": n for split, n in (("train", n_train), ("test", n_test)) for domain in "AB"}
    for folder, count in counts.items():
        if not _folder_complete(root, folder, count):
            split, domain = folder.split("_")
            _write_folder(root / folder, count, lambda i: _image(seed, domain, split, i, size))  # noqa: B023 - called before the loop moves on
    if not (_folder_complete(root, GT_FOLDER, n_test) and (root / GT_FOLDER / GT_INFO).is_file()):
        _write_folder(root / GT_FOLDER, n_test, lambda i: ground_truth_image(seed, i, size))
        cells = {f"{i:04d}.png": size // ground_truth_grid(seed, i) for i in range(n_test)}
        write_ground_truth_info(root / GT_FOLDER, PALETTE, cells)
    for name, prompt in (("fixed_prompt_a.txt", PROMPT_A), ("fixed_prompt_b.txt", PROMPT_B)):
        if not (root / name).is_file():
            (root / name).write_text(prompt + "\n")
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the procedural pixel-gan demo dataset.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n-train", type=int, default=48)
    parser.add_argument("--n-test", type=int, default=6)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    root = generate_demo_dataset(args.out_dir, args.n_train, args.n_test, args.size, args.seed)
    print(f"demo dataset ready in {root}")


if __name__ == "__main__":
    main()
