"""Where procedural demo data may be written: only into a folder pixel-gan owns.

A folder is pixel-gan's when it lies inside the project cache (``paths.cache_dir``) and either does
not exist yet or carries :data:`MARKER`, written with the data. Every other ``data.root`` is the
user's dataset: it is read, never written, and a missing or incomplete one is an error (see
``pixel_gan.config``). Generation writes into a temporary sibling folder and renames it into place,
so concurrent processes and killed runs never leave or read a half-written dataset.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pixel_gan.data.demo import generate_demo_dataset
from pixel_gan.safe_io import write_folder

MARKER = ".pixel-gan-demo.json"
MARKER_VERSION = 2  # 2: with the paired test split test_A_gt/
DEMO_DEFAULTS = {"n_train": 48, "n_test": 6, "size": 128}


class DemoDataError(ValueError):
    """Demo data asked for in a folder pixel-gan does not own."""


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` lies inside ``folder`` (symlinks resolved)."""
    return Path(path).expanduser().resolve().is_relative_to(Path(folder).expanduser().resolve())


def owns_demo_root(root: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None) -> bool:
    """Whether pixel-gan may write demo data into ``root``: inside the cache, and absent or marked as its own."""
    if cache_dir is None:
        return False
    root = Path(root).expanduser()
    if not inside(root, cache_dir) or root.resolve() == Path(cache_dir).expanduser().resolve():
        return False
    return not root.exists() or (root / MARKER).is_file()


def _description(seed: int, n_train: int, n_test: int, size: int) -> dict:
    return {
        "producer": "pixel-gan demo data",
        "version": MARKER_VERSION,
        "seed": seed,
        "n_train": n_train,
        "n_test": n_test,
        "size": size,
    }


def _marker(root: Path) -> dict | None:
    try:
        return json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _same_layout(found: dict | None, wanted: dict) -> bool:
    return found is not None and all(found.get(k) == v for k, v in wanted.items() if k != "seed")


def ensure_demo_dataset(
    root: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    seed: int = 0,
    n_train: int = DEMO_DEFAULTS["n_train"],
    n_test: int = DEMO_DEFAULTS["n_test"],
    size: int = DEMO_DEFAULTS["size"],
) -> Path:
    """The demo dataset in ``root`` (generated when absent or made with other settings); ``root`` must be owned.

    Raises :class:`DemoDataError` for a folder that is not pixel-gan's: nothing is written there.
    """
    root = Path(root).expanduser()
    if not owns_demo_root(root, cache_dir):
        raise DemoDataError(
            f"refusing to write demo data into {root}: demo data is generated only into a new "
            f"folder inside the cache {cache_dir} (or one marked with {MARKER})"
        )
    wanted = _description(seed, n_train, n_test, size)
    if _same_layout(_marker(root), wanted):  # made with another seed is fine: runs of a seed sweep share it
        return root

    def build(folder: Path) -> None:
        generate_demo_dataset(folder, n_train=n_train, n_test=n_test, size=size, seed=seed)
        (folder / MARKER).write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")

    return write_folder(root, build, already_done=lambda found: _same_layout(_marker(found), wanted))
