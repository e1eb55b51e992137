"""Exported translators on disk, labelled for the UI, and a small cache of the loaded ones."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixel_gan.inference.export import WEIGHTS_NAME, find_export_dirs, read_config
from pixel_gan.inference.translator_config import TranslatorConfig

if TYPE_CHECKING:
    from pixel_gan.inference.translator import Translator


@dataclass(frozen=True)
class TranslatorEntry:
    """An export folder found on disk and how the UI names it."""

    label: str
    path: Path
    config: TranslatorConfig


def _read_config(export_dir: Path) -> TranslatorConfig | None:
    """translator.yaml, or None when it is unreadable or impossible (such folders are left out)."""
    try:
        return read_config(export_dir)
    except (OSError, ValueError):
        return None


def _run_name(export_dir: Path, roots: Sequence[Path]) -> str:
    """The run folder relative to the root it was found under (``smoke/2026-11-25_05-58-36``)."""
    run = export_dir.parent if export_dir.name == "translator" else export_dir
    for root in roots:
        try:
            rel = run.resolve().relative_to(root.resolve())
        except ValueError:
            continue
        if str(rel) != ".":
            return rel.as_posix()
    return run.name


def find_translators(
    outputs_root: str | Path | None = "outputs", checkpoints: Sequence[str | Path] = ()
) -> list[TranslatorEntry]:
    """Exported translators under ``outputs_root`` (recursively) plus the given folders, labelled
    ``experiment · resolution · edges · loss — run`` from their translator.yaml; newest run first."""
    roots = [Path(c).expanduser() for c in checkpoints]
    if outputs_root:
        roots.append(Path(outputs_root).expanduser())
    seen: set[Path] = set()
    found: list[tuple[float, Path, TranslatorConfig]] = []
    for root in roots:
        for export_dir in find_export_dirs(root):
            key = export_dir.resolve()
            config = None if key in seen else _read_config(export_dir)
            if config is not None:
                seen.add(key)
                found.append(((export_dir / WEIGHTS_NAME).stat().st_mtime, export_dir, config))
    found.sort(key=lambda item: -item[0])
    entries: list[TranslatorEntry] = []
    labels: set[str] = set()
    for _, export_dir, config in found:
        label = f"{config.describe()} — {_run_name(export_dir, roots)}"
        base, n = label, 2
        while label in labels:
            label, n = f"{base} ({n})", n + 1
        labels.add(label)
        entries.append(TranslatorEntry(label, export_dir, config))
    return entries


class TranslatorCache:
    """Load translators on first use and keep the last few (each holds a full base model)."""

    def __init__(self, device: str = "auto", max_items: int = 3) -> None:
        self.device, self.max_items = device, max_items
        self._items: OrderedDict[Path, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> Translator:
        from pixel_gan.inference.translator import Translator

        with self._lock:
            if path in self._items:
                self._items.move_to_end(path)
                return self._items[path]
            translator = Translator.from_pretrained(path, device=self.device)
            self._items[path] = translator
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            return translator

    def __len__(self) -> int:
        return len(self._items)
