"""``pixel-gan translate`` and the Translator's pixel-art path, end to end on the tiny model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from reference_palettes import PICO8_SET

from pixel_gan.cli.translate import main
from pixel_gan.inference.palettes import get_palette
from pixel_gan.inference.translator import Translator
from pixel_gan.safe_io import png_writer, write_file

PICO8 = PICO8_SET


def photo(seed: int, size: tuple[int, int] = (48, 48)) -> Image.Image:
    """A smooth, colourful test image (gradients + a disc), different per seed."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = rng.uniform(0, 255, 3)
    rgb = np.stack([base[0] * xx + 40, base[1] * yy + 30, base[2] * (1 - xx) + 20], axis=2)
    rgb[(yy - 0.5) ** 2 + (xx - 0.5) ** 2 < 0.06] = rng.uniform(0, 255, 3)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_export) -> Path:
    run = tmp_path_factory.mktemp("run")
    tiny_export(run)
    return run


@pytest.fixture(scope="module")
def translator(run_dir) -> Translator:
    return Translator.from_pretrained(run_dir / "translator", device="cpu")


@pytest.fixture
def one_load(monkeypatch, translator):
    """Reuse the module's translator inside ``main`` (loading is covered by the tests that skip this)."""
    monkeypatch.setattr(Translator, "from_pretrained", classmethod(lambda cls, *a, **k: translator))


def convert(checkpoint: Path, inputs: Path | list[Path], output: Path, *options: str) -> int:
    """``pixel-gan translate --checkpoint C --input I... --output O OPTIONS``: the exit code."""
    paths = inputs if isinstance(inputs, list) else [inputs]
    return main(["--checkpoint", str(checkpoint), "--input", *map(str, paths), "--output", str(output), *options])


def colours(path: Path) -> set[tuple[int, ...]]:
    a = np.asarray(Image.open(path))
    return {tuple(c) for c in a.reshape(-1, a.shape[2])}


def test_translator_api_contract(translator, tmp_path):
    out = translator.translate(photo(0))
    assert isinstance(out, Image.Image) and out.size == (32, 32) and out.mode == "RGB"
    assert translator.translate(photo(1, (40, 24)), output_size="input").size == (40, 24)
    assert [o.size for o in translator.translate([photo(2), photo(3, (64, 32))])] == [(32, 32), (32, 16)]
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert translator.generator(x, "a2b").shape == (1, 3, 32, 32)
    art = translator.pixel_art(photo(4), resolution=16, palette="gameboy", upscale=3)
    assert art.size == (48, 48)
    assert {tuple(c) for c in np.asarray(art).reshape(-1, 3)} <= {tuple(c) for c in get_palette("gameboy")}


def test_folder_with_bad_files_converts_the_rest(run_dir, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo(0).save(src / "good1.png")
    photo(1, (64, 40)).convert("RGB").save(src / "good2.jpg", quality=95)
    buffer = io.BytesIO()
    photo(2).save(buffer, format="PNG")
    (src / "corrupt.png").write_bytes(buffer.getvalue()[:60] + b"\x00" * 40)
    (src / "notes.png").write_text("this is not an image\n")
    (src / "empty.png").write_bytes(b"")

    code = convert(run_dir, src, out, "--batch-size", "2")

    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["good1.png", "good2.png"]  # no temp files left behind
    failed = [line for line in captured.err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 3
    for name in ("corrupt.png", "notes.png", "empty.png"):
        assert sum(name in line for line in failed) == 1
    assert "converted 2, skipped 0, failed 3" in captured.out
    assert "Traceback" not in captured.err


def test_pico8_outputs_native_and_upscaled(one_load, run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    photo(5).save(tmp_path / "a.png")
    code = convert(
        run_dir / "translator",
        tmp_path / "a.png",
        out,
        *["--resolution", "16", "--palette", "pico8", "--upscale", "4", "--dither"],
    )
    assert code == 0, capsys.readouterr().err
    native, big = np.asarray(Image.open(out / "a.png")), np.asarray(Image.open(out / "a_x4.png"))
    assert native.shape == (16, 16, 3) and big.shape == (64, 64, 3)
    assert colours(out / "a.png") <= PICO8
    assert np.array_equal(big, native.repeat(4, axis=0).repeat(4, axis=1))


def test_kmeans_palette_is_shared_across_frames(one_load, run_dir, tmp_path):
    src, out = tmp_path / "frames", tmp_path / "out"
    src.mkdir()
    for i in range(4):
        photo(10 + i).save(src / f"frame{i:02d}.png")
    assert convert(run_dir, src, out, "--resolution", "16", "--palette", "4", "--batch-size", "3") == 0
    per_frame = [colours(out / f"frame{i:02d}.png") for i in range(4)]
    assert all(len(c) <= 4 for c in per_frame)
    assert len(set().union(*per_frame)) <= 4  # one palette for the whole folder


def test_existing_outputs_are_kept_unless_overwrite(one_load, run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    photo(6).save(tmp_path / "a.png")
    args = ["--checkpoint", str(run_dir), "--input", str(tmp_path / "a.png"), "--output", str(out)]
    assert main(args) == 0
    marker = Image.new("RGB", (3, 3), (1, 2, 3))
    marker.save(out / "a.png")
    capsys.readouterr()

    assert main(args) == 0
    assert Image.open(out / "a.png").size == (3, 3)
    assert "converted 0, skipped 1, failed 0" in capsys.readouterr().out

    assert main([*args, "--overwrite"]) == 0
    assert Image.open(out / "a.png").size == (32, 32)
    assert "converted 1, skipped 0, failed 0" in capsys.readouterr().out


def test_rgba_input_keeps_binary_alpha(one_load, run_dir, tmp_path):
    rgba = photo(7, (64, 64)).convert("RGBA")
    alpha = np.full((64, 64), 255, np.uint8)
    alpha[:, :32] = 0  # left half transparent
    alpha[:, 30:34] = 100  # a soft edge that must become 0 or 255
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(tmp_path / "sprite.png")
    out = tmp_path / "out"
    assert (
        convert(run_dir, tmp_path / "sprite.png", out, *["--resolution", "16", "--palette", "pico8", "--upscale", "2"])
        == 0
    )
    result = np.asarray(Image.open(out / "sprite.png"))
    assert result.shape == (16, 16, 4)
    assert set(np.unique(result[..., 3])) <= {0, 255}
    assert (result[:, :7, 3] == 0).all() and (result[:, 9:, 3] == 255).all()
    assert {tuple(c) for c in result[result[..., 3] == 255][:, :3]} <= PICO8
    assert np.asarray(Image.open(out / "sprite_x2.png")).shape == (32, 32, 4)


def test_same_output_name_is_refused(one_load, run_dir, tmp_path, capsys):
    photo(8).save(tmp_path / "a.png")
    photo(9).save(tmp_path / "a.jpg")
    code = convert(run_dir, [tmp_path / "a.png", tmp_path / "a.jpg"], tmp_path / "out")
    assert code == 1
    assert "a.jpg: same output name as" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--checkpoint", "{tmp}/missing"], "checkpoint not found"),
        (["--checkpoint", "{tmp}"], "is not a translator"),
        (["--palette", "nosuchpalette"], "unknown palette"),
        (["--palette", "{tmp}/missing.hex"], "palette file not found"),
        (["--input", "{tmp}/nothing-here"], "input not found"),
    ],
)
def test_setup_errors_are_one_line_exit_2(run_dir, tmp_path, capsys, args, message):
    photo(0).save(tmp_path / "a.png")
    base = {"--checkpoint": str(run_dir), "--input": str(tmp_path / "a.png"), "--output": str(tmp_path / "out")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value.format(tmp=tmp_path)
    code = main([item for pair in base.items() for item in pair])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    def broken_save(self, fp, format=None, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        write_file(tmp_path / "x.png", png_writer(Image.new("RGB", (4, 4))))
    assert list(tmp_path.iterdir()) == []


def raw_output(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_export_merged_then_translate_from_it_without_the_base(run_dir, tmp_path, monkeypatch, capsys):
    from pixel_gan.cli.export import main as export
    from pixel_gan.inference.merged_export import MERGED_CONFIG

    (tmp_path / "in").mkdir()
    write_file(tmp_path / "in" / "a.png", png_writer(photo(3)))
    assert export(["--merged", "--precision", "fp32", str(run_dir), str(tmp_path / "merged")]) == 0
    assert (tmp_path / "merged" / MERGED_CONFIG).is_file() and "written to" in capsys.readouterr().out
    assert convert(run_dir, tmp_path / "in", tmp_path / "from-export") == 0
    import pixel_gan.models.backbone as backbone

    monkeypatch.setattr(backbone, "build_backbone", lambda *a, **k: pytest.fail("the base was loaded"))
    assert convert(tmp_path / "merged", tmp_path / "in", tmp_path / "from-merged") == 0
    want, got = raw_output(tmp_path / "from-export" / "a.png"), raw_output(tmp_path / "from-merged" / "a.png")
    assert np.abs(want - got).max() <= 1  # the same translator: rounding only


def test_sample_with_a_seed_reproduces_and_differs_from_the_mode(run_dir, tmp_path):
    (tmp_path / "in").mkdir()
    write_file(tmp_path / "in" / "a.png", png_writer(photo(4)))
    runs = {"mode": [], "s1": ["--sample", "--seed", "1"], "s1-again": ["--sample", "--seed", "1"]}
    runs["s2"] = ["--sample", "--seed", "2"]
    out = {}
    for name, options in runs.items():
        assert convert(run_dir, tmp_path / "in", tmp_path / name, "--resolution", "32", *options) == 0
        out[name] = raw_output(tmp_path / name / "a.png")
    assert np.array_equal(out["s1"], out["s1-again"])
    assert not np.array_equal(out["s1"], out["mode"]) and not np.array_equal(out["s1"], out["s2"])


def test_a_folder_of_alternating_sizes_fills_each_batch(run_dir, tmp_path, monkeypatch):
    """Sizes a, b, a, b with --batch-size 2: two full passes (one per working shape), not four half-empty ones."""
    (tmp_path / "in").mkdir()
    for i, size in enumerate([(48, 48), (64, 32), (48, 48), (64, 32)]):
        write_file(tmp_path / "in" / f"{i}.png", png_writer(photo(i, size)))
    passes: list[tuple[int, ...]] = []
    call = Translator.__call__

    def counting(self, x, direction="a2b"):
        passes.append(tuple(x.shape))
        return call(self, x, direction)

    monkeypatch.setattr(Translator, "__call__", counting)
    assert convert(run_dir, tmp_path / "in", tmp_path / "out", "--batch-size", "2") == 0
    assert sorted(passes) == [(2, 3, 16, 32), (2, 3, 32, 32)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i}.png" for i in range(4)]
