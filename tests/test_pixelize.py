"""Grid snap, palette quantization, alpha handling and palette files, with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from reference_palettes import PICO8

from pixel_gan.inference.grid import cell_edges, split_alpha
from pixel_gan.inference.images import upscale_array as upscale
from pixel_gan.inference.palettes import (
    GAMEBOY,
    NES,
    PALETTES,
    get_palette,
    hex_to_rgb,
    load_palette_file,
    resolve_palette,
    save_palette_file,
)
from pixel_gan.inference.pixelize import PaletteLock, kmeans_palette, pixelize, quantize, snap_to_grid


def random_art(h: int, w: int, palette: np.ndarray = PICO8, seed: int = 0) -> np.ndarray:
    """Native pixel art with random palette colours, (h, w, 3) uint8."""
    return palette[np.random.default_rng(seed).integers(0, len(palette), (h, w))]


def add_noise(img: np.ndarray, amount: int = 3, seed: int = 1) -> np.ndarray:
    """Uniform integer noise in [-amount, amount] per channel."""
    noise = np.random.default_rng(seed).integers(-amount, amount + 1, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)


def colors_of(img: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in c) for c in img.reshape(-1, img.shape[-1])}


# --------------------------------------------------------------------------- grid snap


@pytest.fixture(scope="module")
def noisy_art():
    small = random_art(16, 16)
    return small, add_noise(upscale(small, 8))


@pytest.mark.parametrize("cell", [8, None])
def test_snap_recovers_noisy_upscale(noisy_art, cell):
    small, big = noisy_art
    snapped = snap_to_grid(big, cell=cell)
    assert snapped.shape == (16, 16, 3)
    assert np.abs(snapped.astype(int) - small).max() <= 3  # within the noise
    assert np.array_equal(quantize(snapped, PICO8), small)  # exact once the palette is known


def test_pixelize_pipeline_recovers_noisy_upscale_exactly(noisy_art):
    small, big = noisy_art
    out = pixelize(Image.fromarray(big), palette="pico8")
    assert out.mode == "RGB"
    assert np.array_equal(np.asarray(out), small)
    up = pixelize(Image.fromarray(big), cell=8, palette=PICO8, upscale=8)
    assert np.array_equal(np.asarray(up), upscale(small, 8))


def test_snap_median_also_stays_within_noise(noisy_art):
    small, big = noisy_art
    assert np.abs(snap_to_grid(big, cell=8, method="median").astype(int) - small).max() <= 3


def test_snap_mode_keeps_majority_colour_where_median_mixes():
    cell = np.array([[[255, 0, 0], [255, 0, 0]], [[0, 255, 0], [0, 0, 255]]], np.uint8)
    assert snap_to_grid(cell, cell=2, method="mode").tolist() == [[[255, 0, 0]]]
    assert snap_to_grid(cell, cell=2, method="median").tolist() == [[[0, 0, 0]]]


def test_snap_to_target_size_width_height_order():
    small = random_art(8, 12)  # height 8, width 12
    assert np.array_equal(snap_to_grid(upscale(small, 5), size=(12, 8)), small)


def test_cell_edges_crop_or_keep_partial_cells():
    assert cell_edges(128, 8)[-1] == 128 and len(cell_edges(128, 8)) == 17
    assert cell_edges(130, 8)[-1] == 128  # 2 px remainder < half a cell: cropped
    assert cell_edges(133, 8)[-1] == 133 and len(cell_edges(133, 8)) == 18  # 5 px: own cell
    assert cell_edges(5, 8).tolist() == [0, 5]


def test_snap_handles_sizes_not_divisible_by_cell():
    small = random_art(16, 16)
    big = np.pad(upscale(small, 8), ((0, 2), (0, 2), (0, 0)), mode="edge")  # 130 x 130
    assert np.array_equal(snap_to_grid(big, cell=8), small)


def test_upscale_is_nearest_blocks():
    img = random_art(3, 4)
    up = upscale(img, 3)
    assert up.shape == (9, 12, 3)
    assert np.array_equal(up[::3, ::3], img) and np.array_equal(up[2::3, 2::3], img)


# --------------------------------------------------------------------------- quantize


def test_quantize_output_colours_are_in_the_palette():
    photo = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    assert colors_of(quantize(photo, PICO8)) <= colors_of(PICO8)
    assert colors_of(quantize(photo, PICO8, dither=True)) <= colors_of(PICO8)


def test_quantize_leaves_in_palette_image_unchanged():
    img = random_art(16, 16)
    assert np.array_equal(quantize(img, PICO8), img)


def test_quantize_maps_to_nearest_entry():
    near_red = np.full((2, 2, 3), (250, 10, 70), np.uint8)  # close to PICO-8 #ff004d
    assert colors_of(quantize(near_red, PICO8)) == {(255, 0, 77)}


def test_kmeans_on_four_flat_colours_returns_them():
    four = PICO8[[0, 7, 8, 12]]
    img = np.repeat(np.repeat(four.reshape(2, 2, 3), 6, axis=0), 6, axis=1)
    assert colors_of(quantize(img, n_colors=4)) == colors_of(four)
    assert colors_of(kmeans_palette(img.reshape(-1, 3), 4)) == colors_of(four)


def test_kmeans_finds_noisy_clusters_deterministically():
    four = PICO8[[0, 7, 8, 12]]
    img = add_noise(np.repeat(np.repeat(four.reshape(2, 2, 3), 16, axis=0), 16, axis=1), amount=6)
    pal = kmeans_palette(img.reshape(-1, 3), 4, seed=3)
    assert len(pal) == 4
    nearest = np.abs(pal[:, None].astype(int) - four[None].astype(int)).max(axis=2).min(axis=1)
    assert nearest.max() <= 2  # each centre sits on a true colour
    assert np.array_equal(pal, kmeans_palette(img.reshape(-1, 3), 4, seed=3))


def test_ordered_dither_mixes_two_neighbouring_colours():
    bw = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    grey = np.full((8, 8, 3), 128, np.uint8)
    plain = quantize(grey, bw)
    assert len(colors_of(plain)) == 1
    dithered = quantize(grey, bw, dither=True)
    white = (dithered[..., 0] == 255).mean()
    assert 0.3 <= white <= 0.7
    assert np.array_equal(dithered[:4, :4], dithered[4:, 4:])  # a 4x4 ordered pattern


def test_quantize_needs_exactly_one_of_palette_or_n_colors():
    img = random_art(4, 4)
    with pytest.raises(ValueError):
        quantize(img)
    with pytest.raises(ValueError):
        quantize(img, PICO8, n_colors=4)


# --------------------------------------------------------------------------- alpha


def sprite_rgba(seed: int = 0) -> np.ndarray:
    """8x8 native RGBA sprite: opaque 4x4 centre, transparent ring, (8, 8, 4) uint8."""
    rgb = random_art(8, 8, seed=seed)
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    return np.concatenate([rgb, np.where(mask, 255, 0).astype(np.uint8)[..., None]], axis=2)


def test_split_alpha_thresholds_to_binary_mask():
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, :, 3] = (0, 127, 128)
    rgb, mask = split_alpha(rgba)
    assert rgb.shape == (1, 3, 3) and mask.tolist() == [[False, False, True]]
    assert split_alpha(rgba, threshold=100)[1].tolist() == [[False, True, True]]


def test_rgba_sprite_keeps_binary_alpha_through_snap_and_upscale():
    native = sprite_rgba()
    big = upscale(native, 4)
    rng = np.random.default_rng(0)
    opaque = big[..., 3] == 255
    big[..., 3] = np.where(opaque, rng.integers(200, 256, opaque.shape), rng.integers(0, 60, opaque.shape))
    big[~opaque, :3] = rng.integers(0, 256, (int((~opaque).sum()), 3))  # garbage behind transparency
    out = np.asarray(pixelize(Image.fromarray(big, "RGBA"), cell=4, upscale=4))
    assert out.shape == (32, 32, 4)
    assert set(np.unique(out[..., 3]).tolist()) <= {0, 255}
    assert np.array_equal(out[..., 3] == 255, upscale(native[..., 3] == 255, 4))
    assert np.array_equal(out[opaque][:, :3], big[opaque][:, :3])  # colours from opaque pixels only


def test_alpha_is_snapped_by_majority_and_colour_comes_from_opaque_pixels():
    rgba = np.zeros((2, 4, 4), np.uint8)
    rgba[..., 3] = [[255, 255, 255, 0], [0, 0, 0, 0]]  # left cell 2/4 opaque, right 1/4
    rgba[..., :3] = (0, 0, 255)  # blue behind transparency ...
    rgba[rgba[..., 3] == 255, :3] = (255, 0, 0)  # ... red where opaque
    for method in ("mode", "median"):
        out = snap_to_grid(rgba, cell=2, method=method)
        assert out.tolist() == [[[255, 0, 0, 255], [0, 0, 0, 0]]]


def test_quantized_rgba_keeps_transparent_pixels_transparent():
    out = quantize(sprite_rgba(), n_colors=3)
    assert np.array_equal(out[..., 3], sprite_rgba()[..., 3])
    assert len(colors_of(out[out[..., 3] == 255][:, :3])) <= 3


# --------------------------------------------------------------------------- pipeline


def test_pixelize_palette_specs():
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3)).astype(np.uint8))
    assert colors_of(np.asarray(pixelize(img, cell=2, palette="gameboy"))) <= colors_of(hex_to_rgb(GAMEBOY))
    assert len(colors_of(np.asarray(pixelize(img, cell=2, palette="4")))) <= 4
    with pytest.raises(ValueError):
        pixelize(img, palette="pico8", n_colors=4)


def test_palette_lock_shares_one_palette_across_frames():
    a = np.repeat(PICO8[[0, 8]][None], 8, axis=0)  # frame with 2 colours
    b = np.repeat(PICO8[[11, 12]][None], 8, axis=0)  # frame with 2 others
    lock = PaletteLock()
    pal = lock.fit([a, Image.fromarray(b)], 4)
    assert colors_of(pal) == colors_of(PICO8[[0, 8, 11, 12]])
    for frame in (a, b):
        out = np.asarray(lock.apply(Image.fromarray(frame), cell=1))
        assert np.array_equal(out, frame)
    with pytest.raises(RuntimeError):
        PaletteLock().apply(Image.fromarray(a))


# --------------------------------------------------------------------------- palettes


def test_builtin_palettes():
    assert np.array_equal(get_palette("PICO-8"), PICO8)
    assert get_palette("game boy").tolist() == [[15, 56, 15], [48, 98, 48], [139, 172, 15], [155, 188, 15]]
    assert len(NES) == 55 and get_palette("cga").shape == (16, 3) and get_palette("endesga32").shape == (32, 3)
    assert get_palette("none") is None
    for name, colors in PALETTES.items():
        if colors is not None:
            assert len(set(colors)) == len(colors), name


@pytest.mark.parametrize("suffix", [".hex", ".gpl", ".png"])
def test_palette_file_round_trip(tmp_path, suffix):
    pal = get_palette("endesga32")
    path = save_palette_file(pal, tmp_path / f"pal{suffix}")
    assert np.array_equal(load_palette_file(path), pal)
    assert np.array_equal(resolve_palette(str(path)), pal)


def test_handwritten_hex_and_gpl(tmp_path):
    (tmp_path / "a.hex").write_text("; lospec export\nff0000\n\n#00FF00\n")
    assert load_palette_file(tmp_path / "a.hex").tolist() == [[255, 0, 0], [0, 255, 0]]
    (tmp_path / "b.gpl").write_text("GIMP Palette\nName: two\nColumns: 2\n#\n  0   0 255\tBlue\n255 255 255 White\n")
    assert load_palette_file(tmp_path / "b.gpl").tolist() == [[0, 0, 255], [255, 255, 255]]
    (tmp_path / "bad.gpl").write_text("not a palette\n")
    with pytest.raises(ValueError, match="GIMP Palette"):
        load_palette_file(tmp_path / "bad.gpl")


def test_swatch_with_too_many_colours_is_rejected(tmp_path):
    codes = np.arange(300)
    img = np.stack([codes % 256, codes // 256, np.zeros_like(codes)], axis=1).astype(np.uint8)[None]
    Image.fromarray(img).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match="at most 256"):
        load_palette_file(tmp_path / "big.png")


def test_resolve_palette_specs_and_errors(tmp_path):
    assert resolve_palette(None) is None and resolve_palette("none") is None
    assert resolve_palette("16") == 16
    assert resolve_palette("pico8").shape == (16, 3)
    with pytest.raises(ValueError, match="pico8.*gameboy.*nes"):
        resolve_palette("sega-master")
    with pytest.raises(ValueError):
        resolve_palette("1")
    with pytest.raises(FileNotFoundError):
        resolve_palette(str(tmp_path / "missing.hex"))
