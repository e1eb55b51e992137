import numpy as np
import pytest
import torch
from PIL import Image

from pixel_gan.data.edges import NO_EDGES, apply_edge_preset, load_preset
from pixel_gan.data.transforms import build_transform, to_pil, to_tensor, validate_resolution


def _halves(width: int = 50, height: int = 30) -> Image.Image:
    """Left half black, right half white: a horizontal flip is visible."""
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, width // 2 :] = 255
    return Image.fromarray(array)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("resolution", [32, 64])
def test_output_is_square_rgb_at_resolution(train: bool, resolution: int) -> None:
    out = build_transform(resolution, train=train)(_halves())
    assert out.size == (resolution, resolution)
    assert out.mode == "RGB"


def test_eval_is_a_deterministic_lanczos_resize() -> None:
    transform = build_transform(32, train=False)
    image = _halves()
    expected = np.asarray(image.resize((32, 32), Image.Resampling.LANCZOS))
    for seed in range(5):
        torch.manual_seed(seed)
        np.testing.assert_array_equal(np.asarray(transform(image)), expected)


def test_train_flips_for_some_seeds_and_not_others() -> None:
    transform = build_transform(32, train=True)
    image = _halves()
    plain = np.asarray(image.resize((32, 32), Image.Resampling.LANCZOS))
    mirrored = plain[:, ::-1]
    seen = set()
    for seed in range(20):
        torch.manual_seed(seed)
        out = np.asarray(transform(image))
        if np.array_equal(out, plain):
            seen.add("plain")
        elif np.array_equal(out, mirrored):
            seen.add("flipped")
        else:
            pytest.fail("train output is neither the resized image nor its mirror")
    assert seen == {"plain", "flipped"}


@pytest.mark.parametrize("bad", [0, -8, 30, 100, 32.0, "32", True, None])
def test_bad_resolution_raises_clear_error(bad: object) -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        build_transform(bad, train=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="multiple of 8"):
        validate_resolution(bad)


def test_to_tensor_maps_uint8_to_minus_one_one() -> None:
    array = np.array([[[0, 255, 51], [102, 127, 204]]], dtype=np.uint8)  # (1, 2, 3)
    tensor = to_tensor(Image.fromarray(array))
    assert tensor.shape == (3, 1, 2)
    assert tensor.dtype == torch.float32
    # v / 127.5 - 1: 0 -> -1, 255 -> 1, 51 -> -0.6, 102 -> -0.2, 127 -> -0.00392, 204 -> 0.6
    expected = torch.tensor([[[-1.0, -0.2]], [[1.0, 127 / 127.5 - 1]], [[-0.6, 0.6]]])
    torch.testing.assert_close(tensor, expected)


def test_to_pil_round_trips_and_clamps() -> None:
    array = np.random.default_rng(0).integers(0, 256, size=(8, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(to_pil(to_tensor(Image.fromarray(array)))), array)
    out = to_pil(torch.tensor([2.0, -3.0, 0.0]).view(3, 1, 1))
    assert out.getpixel((0, 0)) == (255, 0, 128)  # (0 + 1) * 127.5 = 127.5 rounds to 128
    assert to_pil(torch.zeros(1, 3, 4, 5)).size == (5, 4)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        to_pil(torch.zeros(4, 4))


def test_pixel_art_transform_enlarges_native_art_cell_for_cell() -> None:
    """Native-size pixel art (what `data prepare` writes) grows by whole cells with its exact colours."""
    native = np.random.default_rng(1).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    grown = np.asarray(build_transform(64, train=False, pixel_art=True)(Image.fromarray(native)))
    np.testing.assert_array_equal(grown, native.repeat(4, axis=0).repeat(4, axis=1))
    blurred = np.asarray(build_transform(64, train=False)(Image.fromarray(native)))
    assert not np.array_equal(blurred, grown)  # the photo transform would smear the cells


def test_pixel_art_transform_shrinks_like_the_photo_transform() -> None:
    large = Image.fromarray(np.random.default_rng(2).integers(0, 256, size=(128, 96, 3), dtype=np.uint8))
    as_art = np.asarray(build_transform(64, train=False, pixel_art=True)(large))
    as_photo = np.asarray(build_transform(64, train=False)(large))
    np.testing.assert_array_equal(as_art, as_photo)


def _photo() -> Image.Image:
    """Noise on the right half only: a flip moves the edges, so output and draws can be told apart."""
    array = np.full((40, 48, 3), 128, dtype=np.uint8)
    array[:, 24:] = np.random.default_rng(3).integers(0, 256, size=(40, 24, 3), dtype=np.uint8)
    return Image.fromarray(array)


@pytest.mark.parametrize("train", [True, False])
def test_edge_preset_runs_last_on_the_transformed_image(train: bool) -> None:
    """The A transform with a preset = the preset applied to the plain transform's output, with the same
    random draws (the edge step draws none, and the next draw after it is unchanged)."""
    preset, image = load_preset("default"), _photo()
    with_edges, plain = build_transform(32, train, edge_preset=preset), build_transform(32, train)
    flips = set()
    for seed in range(8):
        torch.manual_seed(seed)
        out = np.asarray(with_edges(image))
        after = torch.rand(1)
        torch.manual_seed(seed)
        transformed = plain(image)
        expected = np.asarray(apply_edge_preset(transformed, preset))
        np.testing.assert_array_equal(out, expected)
        assert torch.equal(after, torch.rand(1))
        assert not np.array_equal(out, np.asarray(transformed))  # edges were drawn
        flips.add(bool(np.asarray(transformed)[:, :8].std() > 0))  # noise on the left: flipped
    assert flips == ({True, False} if train else {False})  # both flip outcomes were covered in training


def test_no_edges_preset_leaves_the_transform_unchanged() -> None:
    image = _photo()
    for seed in range(4):
        torch.manual_seed(seed)
        out = np.asarray(build_transform(32, train=True, edge_preset=NO_EDGES)(image))
        torch.manual_seed(seed)
        np.testing.assert_array_equal(out, np.asarray(build_transform(32, train=True)(image)))
