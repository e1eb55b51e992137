"""Write the prepared dataset: built whole in a temporary sibling of ``--out``, then renamed into place."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from pixel_gan.data.images import display_path
from pixel_gan.data.prepare.pipeline import (
    Domain,
    Settings,
    Track,
    assign_split_and_names,
    collect,
    no_progress,
    prompt_files,
    validate,
)
from pixel_gan.data.prepare.report import CONTACT_SHEET, contact_sheet, render_report
from pixel_gan.data.prepare.sources import PrepareError, decode, unique_name
from pixel_gan.safe_io import write_folder

REJECTED = "rejected"
REASONS = "reasons.tsv"
MANIFEST = "manifest.tsv"


def _tsv(value: object) -> str:
    return display_path(str(value)).replace("\t", " ").replace("\n", " ")


def _manifest(domains: Sequence[Domain]) -> str:
    lines = ["file\tsource\tcell\toffset_y\toffset_x\twidth\theight\tcolours"]
    for d in domains:
        for k in d.kept:
            folder = f"{'test' if k.test else 'train'}_{d.label}"
            row = (f"{folder}/{k.name}", k.source, k.cell, *k.offset, *k.size, k.colors)
            lines.append("\t".join(_tsv(v) for v in row))
    return "\n".join(lines) + "\n"


def _pixels(source: Path, kept: np.ndarray | None) -> np.ndarray:
    """The pixels to write: those kept, or the source decoded again (it was readable a moment ago)."""
    if kept is not None:
        return kept
    decoded = decode(source)
    if decoded.rgb is None:
        raise PrepareError(f"{display_path(source)}: changed while preparing ({decoded.reason})")
    return decoded.rgb


def _write_rejected(root: Path, domains: Sequence[Domain], track: Track) -> None:
    """``rejected/reasons.tsv`` lists every file left out; the ones that decoded are saved beside it to look at."""
    folder = root / REJECTED
    folder.mkdir()
    lines = ["domain\tsource\tcode\treason\tsaved_as"]
    taken: set[str] = set()
    rows = [(d.label, r) for d in domains for r in d.rejected]
    for label, r in track(rows, "writing rejects"):
        saved = ""
        if r.thumb is not None:
            saved = unique_name(Path(f"{label}_{r.source.stem}.png"), taken)
            Image.fromarray(_pixels(r.source, None)).save(folder / saved)
        lines.append("\t".join(_tsv(v) for v in (label, r.source, r.code, r.reason, saved)))
    (folder / REASONS).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _build(root: Path, settings: Settings, domains: Sequence[Domain], track: Track) -> None:
    for d in domains:
        for split in ("train", "test"):
            (root / f"{split}_{d.label}").mkdir()
        for k in track(d.kept, f"writing {d.label}"):
            folder = root / f"{'test' if k.test else 'train'}_{d.label}"
            Image.fromarray(_pixels(k.source, k.image)).save(folder / k.name)
    for name, prompt in prompt_files().items():
        (root / name).write_text(prompt + "\n", encoding="utf-8")
    _write_rejected(root, domains, track)
    (root / MANIFEST).write_text(_manifest(domains), encoding="utf-8")
    contact_sheet(domains).save(root / CONTACT_SHEET)
    (root / "report.md").write_text(render_report(settings, domains), encoding="utf-8")


def prepare_dataset(settings: Settings, track: Track = no_progress) -> list[Domain]:
    """Judge both sources, then write ``settings.out`` complete, or raise PrepareError with nothing written."""
    validate(settings)
    domains = [
        collect("A", settings.photos, "--photos", track, settings.max_colors),
        collect("B", settings.pixel_art, "--pixel-art", track, settings.max_colors),
    ]
    for d, option in zip(domains, ("--photos", "--pixel-art"), strict=True):
        assign_split_and_names(d, option, settings.test_fraction, settings.seed)
    try:
        write_folder(settings.out, lambda root: _build(root, settings, domains, track))
    except OSError as error:
        raise PrepareError(f"--out {display_path(settings.out)}: cannot write ({error.strerror or error})") from None
    return domains
