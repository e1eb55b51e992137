from dataclasses import asdict, replace

import cv2
import numpy as np
import pytest
from PIL import Image

from pixel_gan.data.edges import (
    EdgePreset,
    apply_edge_preset,
    drop_small_components,
    edge_map,
    load_preset,
    preset_names,
    read_preset,
)


def _square(size: int = 20, lo: int = 5, hi: int = 15, background: int = 0) -> np.ndarray:
    """(size, size, 3) uint8: a white filled square [lo, hi)² on a flat background."""
    rgb = np.full((size, size, 3), background, dtype=np.uint8)
    rgb[lo:hi, lo:hi] = 255
    return rgb


def _square_and_blob() -> np.ndarray:
    """96x96: a 60x60 white square at [16, 76)² and a 3x3 white blob at rows 4-6, cols 86-88."""
    rgb = _square(96, 16, 76)
    rgb[4:7, 86:89] = 255
    return rgb


BLOB_REGION = (slice(0, 12), slice(80, 96))


def test_shipped_preset_files_hold_the_documented_values() -> None:
    assert load_preset("default") == EdgePreset("default", 100, 200, 0, grayscale=False, mode="overlay")
    assert load_preset("medium") == EdgePreset("medium", 125, 200, 150, grayscale=True, mode="overlay")
    assert load_preset("low") == EdgePreset("low", 150, 200, 200, grayscale=True, mode="overlay")
    assert load_preset("none").is_identity
    assert preset_names() == ["default", "low", "medium", "none"]


def test_default_finds_the_square_outline_and_nothing_else() -> None:
    edges = edge_map(_square(), load_preset("default"))
    assert edges.dtype == np.uint8 and edges.shape == (20, 20)
    assert set(np.unique(edges)) == {0, 255}
    ys, xs = np.nonzero(edges)
    # The square's border pixels are rows/cols 5 and 14; Canny marks them or their outside neighbour.
    near_border = (np.minimum(np.abs(ys - 5), np.abs(ys - 14)) <= 1) | (
        np.minimum(np.abs(xs - 5), np.abs(xs - 14)) <= 1
    )
    assert near_border.all()
    assert ((ys >= 4) & (ys <= 15) & (xs >= 4) & (xs <= 15)).all()
    assert not edges[7:13, 7:13].any()  # interior stays empty
    for side in (edges[3:6, 6:14], edges[14:17, 6:14], edges[6:14, 3:6], edges[6:14, 14:17]):
        assert side.any(axis=side.shape.index(3)).all(), "every position along each side has an edge"


def test_default_uses_the_rgb_array_and_medium_uses_grayscale() -> None:
    # Red (255, 0, 0) and green (0, 130, 0) both have luma 76, so only the RGB Canny sees the boundary.
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[:, :8] = (255, 0, 0)
    rgb[:, 8:] = (0, 130, 0)
    assert np.unique(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)).tolist() == [76]
    rgb_edges = edge_map(rgb, load_preset("default"))
    assert rgb_edges[:, 7:9].any(axis=1).all()  # a vertical line at the colour boundary
    assert not rgb_edges[:, :6].any() and not rgb_edges[:, 10:].any()
    assert not edge_map(rgb, replace(load_preset("medium"), min_area=0)).any()


@pytest.mark.parametrize("name", ["medium", "low"])
def test_area_filter_drops_the_small_blob_and_keeps_the_square(name: str) -> None:
    rgb = _square_and_blob()
    unfiltered = edge_map(rgb, load_preset("default"))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(unfiltered, connectivity=8)
    areas = sorted(stats[1:, cv2.CC_STAT_AREA].tolist())
    assert len(areas) == 2 and areas[0] < 150 and areas[1] >= 200  # preconditions of this test
    expected = unfiltered.copy()
    expected[BLOB_REGION] = 0
    assert unfiltered[BLOB_REGION].any()
    np.testing.assert_array_equal(edge_map(rgb, load_preset(name)), expected)


def test_custom_min_area_keeps_the_blob() -> None:
    rgb = _square_and_blob()
    edges = edge_map(rgb, replace(load_preset("medium"), min_area=5))
    assert edges[BLOB_REGION].any()
    np.testing.assert_array_equal(edges, edge_map(rgb, load_preset("default")))


def test_drop_small_components_uses_8_connectivity_and_min_area() -> None:
    edges = np.zeros((10, 10), dtype=np.uint8)
    edges[0, 0] = 255  # area 1
    edges[2, 2] = edges[3, 3] = 255  # diagonal pair: one 8-connected component of area 2
    edges[6:9, 6:9] = 255  # area 9
    kept = drop_small_components(edges, min_area=2)
    expected = edges.copy()
    expected[0, 0] = 0
    np.testing.assert_array_equal(kept, expected)
    assert not drop_small_components(edges, min_area=10).any()


def test_none_is_identity() -> None:
    rgb = _square()
    image = Image.fromarray(rgb)
    assert apply_edge_preset(image, load_preset("none")) is image
    assert not edge_map(rgb, load_preset("none")).any()


def test_overlay_blackens_exactly_the_edge_pixels() -> None:
    rgb = _square(background=128)
    edges = edge_map(rgb, load_preset("default"))
    out = np.asarray(apply_edge_preset(Image.fromarray(rgb), load_preset("default")))
    expected = np.where(edges[:, :, None] > 0, 0, rgb)
    np.testing.assert_array_equal(out, expected)
    assert (out != rgb).any(axis=2).sum() == (edges > 0).sum() > 0


def test_replace_returns_the_three_channel_edge_map() -> None:
    rgb = _square()
    out = apply_edge_preset(Image.fromarray(rgb), replace(load_preset("default"), mode="replace"))
    assert out.mode == "RGB" and out.size == (20, 20)
    array = np.asarray(out)
    for channel in range(3):
        np.testing.assert_array_equal(array[:, :, channel], edge_map(rgb, load_preset("default")))


def test_preset_values_are_checked_and_the_message_names_the_key() -> None:
    medium = load_preset("medium")
    with pytest.raises(ValueError, match="unknown edge preset 'sharp'; valid presets: default, low, medium, none"):
        load_preset("sharp")
    with pytest.raises(ValueError, match="low_threshold <= high_threshold"):
        replace(medium, low_threshold=210)
    with pytest.raises(ValueError, match="<= 255"):
        replace(medium, high_threshold=300)
    with pytest.raises(ValueError, match="edge_preset.min_area must be >= 0"):
        replace(medium, min_area=-1)
    with pytest.raises(ValueError, match="edge_preset.mode must be one of overlay, replace"):
        replace(medium, mode="blend")


def test_an_export_record_reads_as_the_preset_it_was_trained_with() -> None:
    """Old exports stored the name and nulls ("the preset's own"); new ones store every number."""
    assert read_preset("medium") == EdgePreset("medium", 125, 200, 150, grayscale=True, mode="overlay")
    assert read_preset(None).is_identity
    old = {"name": "medium", "low_threshold": None, "high_threshold": None, "min_area": 40, "mode": None}
    assert read_preset(old) == EdgePreset("medium", 125, 200, 40, grayscale=True, mode="overlay")
    new = EdgePreset("mine", 10, 20, 3, grayscale=True, mode="replace")
    assert read_preset(asdict(new)) == new  # every number stored: no lookup (a custom preset has no file)
    with pytest.raises(ValueError, match="unknown edge preset 'mine'"):
        read_preset({"name": "mine", "min_area": 3})
    with pytest.raises(ValueError, match="unknown option"):
        read_preset({"name": "low", "sigma": 2})
    with pytest.raises(ValueError):
        read_preset(3)  # type: ignore[arg-type]


def test_edge_map_rejects_non_rgb_uint8() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        edge_map(np.zeros((8, 8), dtype=np.uint8), load_preset("default"))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        edge_map(np.zeros((8, 8, 3), dtype=np.float32), load_preset("default"))
