"""The bad-input matrix: files and folders a user can hand to pixel-gan, and what each must become.

Every file case writes one file into a folder and says what a correct load gives (a check on the
decoded RGB image) or, for a file that cannot be used, a fragment of the one-line reason.
``test_bad_inputs.py`` runs each case through the three places images enter (the data module,
``pixel-gan translate``, the app); ``make_reliability_table.py`` prints what the user sees.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

RED, BLUE, GREEN, WHITE = (220, 30, 20), (20, 40, 220), (0, 255, 0), (255, 255, 255)
Check = Callable[[Image.Image], None]


@dataclass(frozen=True)
class FileCase:
    """One input file. ``check`` is None for a file that must be refused with ``reason`` in its message."""

    id: str
    what: str
    build: Callable[[Path], Path]
    check: Check | None = None
    reason: str = ""
    app_reason: str | None = None  # where the app's own upload checks word it differently

    @property
    def app_message(self) -> str:
        return self.reason if self.app_reason is None else self.app_reason

    @property
    def usable(self) -> bool:
        return self.check is not None


# --- checks on the decoded image ----------------------------------------------------------------------
def pixels(size: tuple[int, int], at: dict[tuple[int, int], tuple[int, int, int]], tol: int = 0) -> Check:
    """The RGB image has ``size`` and these colours (within ``tol`` per channel, for JPEG)."""

    def check(image: Image.Image) -> None:
        assert image.mode == "RGB", image.mode
        assert image.size == size, (image.size, size)
        for xy, want in at.items():
            got = image.getpixel(xy)
            assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= tol, (xy, got, want)

    return check


def solid(size: tuple[int, int], colour: tuple[int, int, int], tol: int = 0) -> Check:
    w, h = size
    return pixels(size, {(0, 0): colour, (w - 1, h - 1): colour, (w // 2, h // 2): colour}, tol)


def solid_case(id: str, what: str, name: str, size: tuple[int, int], colour: tuple[int, int, int]) -> FileCase:
    """A one-colour RGB file saved under ``name``; it must decode to that colour."""
    return FileCase(id, what, save(name, Image.new("RGB", size, colour)), solid(size, colour))


# --- writers --------------------------------------------------------------------------------------------
def save(name: str, image: Image.Image | Callable[[], Image.Image], **kwargs) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        (image() if callable(image) else image).save(path, **kwargs)
        return path

    return build


def raw(name: str | bytes, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    """Bytes under a name; a bytes name is a non-UTF-8 file name (written through os.fsencode)."""

    def build(folder: Path) -> Path:
        target = os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else os.fsencode(name))
        with open(target, "wb") as handle:
            handle.write(data() if callable(data) else data)
        return Path(os.fsdecode(target))

    return build


def encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def noise(size: tuple[int, int] = (64, 64), seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def halves(size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def truncated(fmt: str, **kwargs) -> Callable[[], bytes]:
    """The first half of a noisy image file: what an interrupted download leaves."""

    def data() -> bytes:
        whole = encoded(noise(), fmt, **kwargs)
        return whole[: len(whole) // 2]

    return data


def png_bad_crc() -> bytes:
    """A PNG whose pixel data is corrupted (one flipped byte inside IDAT, CRC no longer matches)."""
    data = bytearray(encoded(noise((32, 32)), "PNG"))
    at = data.index(b"IDAT") + 20
    data[at] ^= 0xFF
    return bytes(data)


def png_header(width: int, height: int) -> bytes:
    """A valid PNG header that claims ``width``×``height`` with almost no data: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def palette_with_transparency() -> Image.Image:
    image = Image.new("P", (2, 1), 0)
    image.putpalette([0, 255, 0, 9, 9, 9] + [0] * 762)
    image.putpixel((1, 0), 1)
    return image


def rgba_half_transparent(fully: bool = False) -> Image.Image:
    image = Image.new("RGBA", (4, 2), (*RED, 0 if fully else 255))
    image.paste((*BLUE, 0), (2, 0, 4, 2))
    return image


def exif_rotated() -> bytes:
    """16×8, red left / blue right, EXIF orientation 6: displayed rotated 90° clockwise (8×16, red on top)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(halves((16, 8), RED, BLUE), "JPEG", quality=95, exif=exif.tobytes())


def animated(fmt: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / f"animated-{fmt.lower()}.{fmt.lower()}"
        frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
        frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
        assert Image.open(path).n_frames == 2
        return path

    return build


def png16_rgb(folder: Path) -> Path:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one; OpenCV can)."""
    path = folder / "deep-rgb.png"
    rgb = np.zeros((4, 4, 3), np.uint16)
    rgb[...] = (257 * 200, 257 * 100, 257 * 10)
    assert cv2.imwrite(str(path), rgb[..., ::-1])
    return path


def png16_gray() -> Image.Image:
    return Image.fromarray(np.array([[0, 257 * 100, 65535]], dtype=np.uint16))


def symlink(name: str, target: str | None) -> Callable[[Path], Path]:
    """``target`` None: a link to itself (a loop); else a link to a missing file."""

    def build(folder: Path) -> Path:
        path = folder / name
        path.symlink_to(path if target is None else folder / target)
        return path

    return build


def directory(folder: Path) -> Path:
    path = folder / "folder.png"
    path.mkdir()
    return path


FILE_CASES: list[FileCase] = [
    # usable files: each must decode to the right RGB pixels
    solid_case("rgb-png", "plain RGB PNG", "plain.png", (24, 16), RED),
    solid_case("1x1", "1×1 image", "dot.png", (1, 1), BLUE),
    solid_case("1x4000", "huge aspect ratio, 1×4000", "tall.png", (1, 4000), RED),
    solid_case("4000x1", "huge aspect ratio, 4000×1", "wide.png", (4000, 1), BLUE),
    FileCase("gray-png", "grayscale (L) PNG", save("gray.png", Image.new("L", (6, 6), 77)), solid((6, 6), (77,) * 3)),
    FileCase(
        "gray-jpeg",
        "grayscale JPEG",
        save("gray-photo.jpg", Image.new("L", (8, 8), 77), quality=95),
        solid((8, 8), (77,) * 3, tol=3),
    ),
    FileCase("bilevel-png", "1-bit (mode 1) PNG", save("bilevel.png", Image.new("1", (5, 5), 1)), solid((5, 5), WHITE)),
    FileCase(
        "png16-gray",
        "16-bit grayscale PNG (I;16)",
        save("deep.png", png16_gray()),
        pixels((3, 1), {(0, 0): (0, 0, 0), (1, 0): (100, 100, 100), (2, 0): WHITE}),
    ),
    FileCase("png16-rgb", "16-bit RGB PNG", png16_rgb, solid((4, 4), (200, 100, 10))),
    FileCase(
        "cmyk-jpeg",
        "CMYK JPEG",
        save("cmyk.jpg", Image.new("CMYK", (8, 8), (0, 255, 255, 0)), quality=100),
        solid((8, 8), (255, 0, 0), tol=8),
    ),
    FileCase(
        "p-png",
        "palette (P) PNG",
        save("palette.png", Image.new("RGB", (4, 4), BLUE).convert("P", palette=Image.Palette.ADAPTIVE)),
        solid((4, 4), BLUE),
    ),
    FileCase(
        "p-png-transparency",
        "palette PNG with a transparent index",
        save("palette-alpha.png", palette_with_transparency(), transparency=1),
        pixels((2, 1), {(0, 0): GREEN, (1, 0): WHITE}),
    ),
    FileCase(
        "rgba-png",
        "RGBA PNG, half transparent",
        save("rgba.png", rgba_half_transparent()),
        pixels((4, 2), {(0, 0): RED, (3, 1): WHITE}),
    ),
    FileCase(
        "rgba-clear",
        "RGBA PNG, fully transparent",
        save("clear.png", rgba_half_transparent(fully=True)),
        solid((4, 2), WHITE),
    ),
    FileCase(
        "la-png", "LA (gray + alpha) PNG", save("la.png", Image.new("LA", (3, 3), (0, 128))), solid((3, 3), (127,) * 3)
    ),
    FileCase(
        "exif-rotated",
        "EXIF-rotated JPEG (orientation 6)",
        raw("phone.jpg", exif_rotated),
        pixels((8, 16), {(4, 2): RED, (4, 13): BLUE}, tol=30),
    ),
    FileCase("animated-gif", "animated GIF (2 frames)", animated("GIF"), solid((8, 8), RED, tol=4)),
    FileCase("animated-png", "animated PNG (APNG, 2 frames)", animated("PNG"), solid((8, 8), RED)),
    FileCase(
        "webp",
        "WebP (lossless)",
        save("lossless.webp", Image.new("RGB", (8, 8), RED), lossless=True),
        solid((8, 8), RED),
    ),
    FileCase(
        "webp-alpha",
        "WebP with alpha",
        save("alpha.webp", rgba_half_transparent(), lossless=True),
        pixels((4, 2), {(0, 0): RED, (3, 1): WHITE}),
    ),
    solid_case("bmp", "BMP", "bitmap.bmp", (8, 8), BLUE),
    FileCase(
        "jpeg-named-png",
        "JPEG data in a .png file",
        raw("really-a-jpeg.png", lambda: encoded(Image.new("RGB", (8, 8), RED), "JPEG", quality=95)),
        solid((8, 8), RED, tol=4),
    ),
    solid_case("upper-ext", "upper-case extension (.PNG)", "LOUD.PNG", (4, 4), RED),
    solid_case("spaces-name", "file name with spaces and brackets", "my photo (1).png", (4, 4), RED),
    solid_case("unicode-name", "non-ASCII UTF-8 file name", "ピクセル猫.png", (4, 4), BLUE),
    FileCase(
        "non-utf8-name",
        "non-UTF-8 file name (Latin-1 bytes)",
        raw(b"caf\xe9 \xff.png", lambda: encoded(Image.new("RGB", (4, 4), RED), "PNG")),
        solid((4, 4), RED),
    ),
    # files that must be refused with a one-line reason naming them
    FileCase("zero-byte", "zero-byte file", raw("empty.png", b""), reason="empty file"),
    FileCase(
        "text-as-png",
        "text file named .png",
        raw("notes.png", b"just some text\n"),
        reason="unknown or unsupported image format",
    ),
    FileCase(
        "html-as-jpeg",
        "HTML error page named .jpg",
        raw("download.jpg", b"<html><body>404</body></html>"),
        reason="unknown or unsupported image format",
    ),
    FileCase("truncated-png", "truncated PNG (first half)", raw("cut-png.png", truncated("PNG")), reason="truncated"),
    FileCase(
        "truncated-jpeg",
        "truncated JPEG (first half)",
        raw("cut-jpeg.jpg", truncated("JPEG", quality=90)),
        reason="truncated",
    ),
    FileCase("truncated-gif", "truncated GIF (first half)", raw("cut-gif.gif", truncated("GIF")), reason="truncated"),
    FileCase(
        "corrupt-png", "PNG with corrupted pixel data (bad CRC)", raw("corrupt.png", png_bad_crc), reason="corrupt"
    ),
    *(  # headers of huge images: refused before their pixels are decoded
        FileCase(f"bomb-{side}", what, raw(name, png_header(side, side)), reason=reason, app_reason=app)
        for side, name, what, reason, app in (
            (20000, "bomb.png", "20000×20000 PNG (decompression bomb)", "decompression bomb", "too many pixels"),
            (
                10000,
                "big.png",
                "10000×10000 PNG (above the 64 MP guard, below Pillow's own)",
                "10000x10000 = 100000000 pixels exceeds the limit",
                "10000×10000 = 100.0 megapixels; the limit is",
            ),
        )
    ),
    FileCase("symlink-loop", "symlink loop", symlink("loop.png", None), reason="symlink loop"),
    FileCase(
        "dangling-symlink",
        "symlink to a missing file",
        symlink("gone.png", "missing.png"),
        reason="target missing",
        app_reason="the uploaded image is gone",
    ),
    FileCase(
        "folder-named-png",
        "folder named .png",
        directory,
        reason="not a file (a folder)",
        app_reason="the uploaded image is gone",
    ),
]
CASE_IDS = [case.id for case in FILE_CASES]


def good_image(folder: Path, name: str = "good.png") -> Path:
    """A normal photo-like image to sit beside a bad file."""
    path = folder / name
    noise((40, 30), seed=len(name)).save(path)
    return path
