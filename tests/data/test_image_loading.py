from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixel_gan.data import images
from pixel_gan.data.images import ImageLoadError, check_image, list_images, load_rgb


def _save(path: Path, image: Image.Image, **kwargs: object) -> Path:
    image.save(path, **kwargs)
    return path


def test_list_images_filters_sorts_and_ignores_case(tmp_path: Path) -> None:
    rgb = Image.new("RGB", (4, 4), (10, 20, 30))
    for name, fmt in [
        ("b.PNG", "PNG"),
        ("a.jpg", "JPEG"),
        ("c.JpEg", "JPEG"),
        ("d.webp", "WEBP"),
        ("e.bmp", "BMP"),
    ]:
        _save(tmp_path / name, rgb, format=fmt)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "scan.tiff").write_bytes(b"II*\x00")
    _save(tmp_path / ".hidden.png", rgb)
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "missing.png")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "c.JpEg", "d.webp", "e.bmp"]


def test_list_images_missing_folder_names_folder_and_layout(tmp_path: Path) -> None:
    missing = tmp_path / "train_A"
    with pytest.raises(FileNotFoundError) as info:
        list_images(missing)
    message = str(info.value)
    assert str(missing) in message
    for folder in ("train_A", "train_B", "test_A", "test_B"):
        assert folder in message


def test_transparency_is_composited_onto_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (2, 1), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 255, 0))
    assert list(load_rgb(_save(tmp_path / "rgba.png", rgba)).getdata()) == [(255, 0, 0), (255, 255, 255)]

    half = Image.new("LA", (1, 1), (0, 128))  # black at alpha 128/255 over white -> 127
    assert load_rgb(_save(tmp_path / "la.png", half)).getpixel((0, 0)) == (127, 127, 127)

    palette = Image.new("P", (2, 1), 0)
    palette.putpalette([0, 255, 0, 9, 9, 9] + [0] * 762)
    palette.putpixel((1, 0), 1)
    path = _save(tmp_path / "p.png", palette, transparency=1)
    assert list(load_rgb(path).getdata()) == [(0, 255, 0), (255, 255, 255)]


def test_sixteen_bit_is_scaled_to_eight_bit(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    path = _save(tmp_path / "deep.png", Image.fromarray(values))
    assert Image.open(path).mode.startswith("I")
    assert list(load_rgb(path).getdata()) == [(0, 0, 0), (100, 100, 100), (255, 255, 255)]


def test_cmyk_and_gray_become_rgb(tmp_path: Path) -> None:
    cmyk = _save(tmp_path / "cmyk.jpg", Image.new("CMYK", (8, 8), (0, 0, 0, 0)), quality=100)
    loaded = load_rgb(cmyk)
    assert loaded.mode == "RGB" and min(loaded.getpixel((4, 4))) >= 250  # no ink = white
    gray = load_rgb(_save(tmp_path / "gray.png", Image.new("L", (3, 3), 77)))
    assert gray.mode == "RGB" and gray.getpixel((1, 1)) == (77, 77, 77)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (4, 2), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(tmp_path / "phone.jpg", image, exif=exif.tobytes())
    assert Image.open(path).size == (4, 2)
    assert load_rgb(path).size == (2, 4)


def test_animated_image_gives_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (4, 4), (255, 0, 0)), Image.new("RGB", (4, 4), (0, 0, 255))]
    path = tmp_path / "anim.png"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert getattr(Image.open(path), "n_frames", 1) == 2
    assert load_rgb(path).getpixel((0, 0)) == (255, 0, 0)


def test_unreadable_files_raise_image_load_error_naming_the_file(tmp_path: Path) -> None:
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    full = tmp_path / "full.png"
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(full)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    for path in (text, truncated):
        with pytest.raises(ImageLoadError, match=path.name) as info:
            load_rgb(path)
        assert isinstance(info.value, ValueError) and info.value.path == path
    assert check_image(full) is None
    assert check_image(text) is not None


def test_pixel_limit_guards_against_decompression_bombs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path / "big.png", Image.new("RGB", (20, 10)))
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 199)
    with pytest.raises(ImageLoadError, match="200 pixels exceeds"):
        load_rgb(path)
    assert "exceeds" in (check_image(path) or "")
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 200)
    assert load_rgb(path).size == (20, 10)
