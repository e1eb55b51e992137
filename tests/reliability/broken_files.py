"""Files a careless user hands to pixel-gan, and the hashes that show nothing of theirs changed."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from pathlib import Path

import torch
from PIL import Image

LIGHTNING_LIKE = {
    "global_step": 1,
    "pytorch-lightning_version": "2.6.0",
    "optimizer_states": [],
    "state_dict": {"w": torch.arange(4096, dtype=torch.float32)},
}


def tree_hashes(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256), hidden ones included."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def user_dataset(root: Path, empty: str | None = None) -> Path:
    """A user's dataset: two photos per folder and their own captions; ``empty`` names a folder left empty."""
    for i, folder in enumerate(("train_A", "train_B", "test_A", "test_B")):
        (root / folder).mkdir(parents=True)
        if folder != empty:
            for j in range(2):
                Image.new("RGB", (40, 32), (30 * i + j, 90, 200 - 40 * i)).save(root / folder / f"{j:04d}.png")
    (root / "fixed_prompt_a.txt").write_text("my holiday photos\n")
    (root / "fixed_prompt_b.txt").write_text("my sprites\n")
    return root


def plain_torch_file(path: Path) -> Path:
    """Weights saved with ``torch.save`` but no Lightning training state."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"w": torch.ones(3)}, path)
    return path


def flipped_checkpoint(path: Path) -> Path:
    """A Lightning-like checkpoint with one byte of tensor data flipped: only the zip CRC shows it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(LIGHTNING_LIKE, path)
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("/data/0"))
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + 100] ^= 0x40
    path.write_bytes(bytes(data))
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims ``width`` x ``height`` pixels (a decompression bomb's header; tiny on disk)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return path
