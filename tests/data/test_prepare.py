"""`pixel-gan data prepare|check` on generated fixtures with known answers."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pixel_gan.data.prepare.cli import app
from pixel_gan.data.prepare.dedup import NEAR_DUPLICATE_BITS, RELATED_BITS, phash
from pixel_gan.data.prepare.grid import analyse_pixel_art
from pixel_gan.data.prepare.sources import decode
from pixel_gan.data.prepare.split import split_test

SCALES = (2, 3, 4, 7, 10)
runner = CliRunner()


def native_art(seed: int, h: int = 14, w: int = 18, colors: int = 6) -> np.ndarray:
    """Random palette blocks: every native pixel an independent draw from a small palette."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (colors, 3), dtype=np.uint8)
    return palette[rng.integers(0, colors, (h, w))]


def upscale(image: np.ndarray, k: int) -> np.ndarray:
    return np.repeat(np.repeat(image, k, axis=0), k, axis=1)


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def photo(seed: int, h: int = 72, w: int = 96) -> np.ndarray:
    """A smooth 'photo': random low-frequency colour field plus sensor noise (thousands of colours)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (4, 5, 3)).astype(np.float32)
    smooth = np.asarray(Image.fromarray(coarse.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC), np.float32)
    return np.clip(smooth + rng.normal(0, 4, smooth.shape), 0, 255).astype(np.uint8)


def save(path: Path, image: np.ndarray, **kwargs) -> Path:
    Image.fromarray(image).save(path, **kwargs)
    return path


def tree_hashes(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def upright_photo() -> np.ndarray:
    """Asymmetric, so any wrong rotation or flip shows: red top-left, green top-right, blue bottom."""
    image = np.zeros((40, 60, 3), np.uint8)
    image[:20, :30] = (255, 0, 0)
    image[:20, 30:] = (0, 255, 0)
    image[20:] = (0, 0, 255)
    return image


# --------------------------------------------------------------------------- grid


@pytest.mark.parametrize("scale", SCALES)
def test_clean_upscale_is_recovered_exactly(scale: int) -> None:
    art = native_art(scale)
    result = analyse_pixel_art(upscale(art, scale))
    assert result.ok and result.cell == scale
    np.testing.assert_array_equal(result.native, art)


def test_cropped_upscale_finds_the_offset() -> None:
    art = native_art(11)
    result = analyse_pixel_art(upscale(art, 4)[3:, 2:])  # row cell cut to 1 px (dropped), column cell to 2 (kept)
    assert result.cell == 4 and result.offset == (1, 2)
    np.testing.assert_array_equal(result.native, art[1:])


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda: jpeg(upscale(native_art(1), 4)), "lossy", "JPEG"),
        (lambda: jpeg(upscale(native_art(2), 7), 90), "lossy", "JPEG"),
        (
            lambda: np.asarray(Image.fromarray(native_art(3)).resize((45, 35), Image.Resampling.NEAREST)),
            "non-integer",
            "non-integer scaling (about 2.50x)",
        ),
        (lambda: photo(4), "not-pixel-art", "not pixel art"),
        (lambda: np.full((64, 64, 3), 90, np.uint8), "blank", "single colour"),
    ],
)
def test_damaged_or_foreign_images_are_rejected_with_the_reason(make, code: str, words: str) -> None:
    result = analyse_pixel_art(make())
    assert not result.ok
    assert result.code == code and words in result.reason


def test_detail_off_the_grid_is_not_taken_for_compression_damage() -> None:
    image = upscale(native_art(12), 2)
    image[np.random.default_rng(0).random(image.shape[:2]) < 0.05] = 255  # 1-px specks drawn after scaling
    result = analyse_pixel_art(image)
    assert result.ok and result.cell == 1  # kept as drawn: large differences are detail, not noise


def test_transparent_pixels_are_composited_onto_white(tmp_path: Path) -> None:
    art = native_art(13)
    rgba = np.dstack([art, np.full(art.shape[:2], 255, np.uint8)])
    rgba[:3, :, 3] = 0  # transparent top rows, whatever colour is stored under them
    decoded = decode(save(tmp_path / "sprite.png", upscale(rgba, 5)))
    assert decoded.rgb is not None
    result = analyse_pixel_art(decoded.rgb)
    expected = art.copy()
    expected[:3] = 255
    np.testing.assert_array_equal(result.native, expected)


def test_phash_thresholds_separate_copies_from_other_pictures() -> None:
    base = photo(5)
    copies = [
        jpeg(base, 80),
        np.asarray(Image.fromarray(base).resize((48, 36))),
        np.clip(base.astype(np.int16) + 8, 0, 255).astype(np.uint8),
    ]
    for copy in copies:
        assert bin(phash(base) ^ phash(copy)).count("1") <= NEAR_DUPLICATE_BITS
    others = [photo(seed) for seed in range(20, 30)]
    for other in others:
        assert bin(phash(base) ^ phash(other)).count("1") > RELATED_BITS


def test_split_keeps_related_groups_whole_and_a_large_group_in_train() -> None:
    chain = [(1 << (4 * i)) - 1 for i in range(12)]  # each 4 bits from the next: one related group
    loners = [int(h) for h in np.random.default_rng(0).integers(0, 2**63, 28, dtype=np.int64)]
    hashes = chain + loners
    digests = [f"{i:04d}" for i in range(len(hashes))]
    for seed in range(5):
        test = split_test(digests, hashes, 0.25, seed)
        assert 1 <= sum(test) <= 10 and not any(test[: len(chain)])
        assert split_test(digests, hashes, 0.25, seed) == test
    assert len({tuple(split_test(digests, hashes, 0.25, seed)) for seed in range(5)}) > 1


# --------------------------------------------------------------------------- prepare end to end


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("sources")
    photos, art = root / "photos", root / "art"
    photos.mkdir()
    art.mkdir()
    for i in range(8):
        save(photos / f"p{i}.png", photo(100 + i))
    save(photos / "p0_copy.png", photo(100))  # exact duplicate (same pixels, other file)
    save(photos / "p1_again.jpg", photo(101), quality=92)  # near duplicate
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: displays after a 90 degree clockwise turn
    Image.fromarray(np.ascontiguousarray(np.rot90(upright_photo(), 1))).save(photos / "rotated.png", exif=exif)
    (photos / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    (photos / "empty.png").write_bytes(b"")
    (photos / "notes.txt").write_text("not an image")
    natives = {}
    for k in SCALES:
        natives[f"s{k}.png"] = native_art(30 + k)
        save(art / f"s{k}.png", upscale(natives[f"s{k}.png"], k))
    for i in range(4):
        natives[f"extra{i}.png"] = native_art(60 + i)
        save(art / f"extra{i}.png", upscale(natives[f"extra{i}.png"], 3 + i))
    save(art / "s4_at_2.png", upscale(natives["s4.png"], 2))  # same art, smaller: a duplicate (the largest is kept)
    save(art / "damaged.jpg", upscale(native_art(70), 4), quality=75)
    save(art / "stretched.png", np.asarray(Image.fromarray(native_art(71)).resize((45, 35), Image.Resampling.NEAREST)))
    save(art / "a_photo.png", photo(72))
    (art / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    before = {folder: tree_hashes(folder) for folder in (photos, art)}
    out = root / "dataset"
    result = runner.invoke(
        app, ["prepare", "--photos", str(photos), "--pixel-art", str(art), "--out", str(out), "--test-fraction", "0.3"]
    )
    return {
        "root": root,
        "photos": photos,
        "art": art,
        "out": out,
        "result": result,
        "before": before,
        "natives": natives,
    }


def _manifest(out: Path) -> dict[str, dict[str, str]]:
    lines = (out / "manifest.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return {row["file"]: row for row in (dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:])}


def _reasons(out: Path) -> dict[str, tuple[str, str]]:
    lines = (out / "rejected" / "reasons.tsv").read_text().splitlines()[1:]
    return {Path(cols[1]).name: (cols[2], cols[3]) for cols in (line.split("\t") for line in lines)}


def test_prepare_writes_the_unpaired_layout_and_report(sources: dict) -> None:
    result, out = sources["result"], sources["out"]
    assert result.exit_code == 0, result.output
    for folder in ("train_A", "train_B", "test_A", "test_B"):
        assert list((out / folder).glob("*.png")), folder
    assert (out / "fixed_prompt_a.txt").read_text().strip() == "a photo"
    assert (out / "fixed_prompt_b.txt").read_text().strip() == "pixel art"
    report = (out / "report.md").read_text()
    for heading in ("cell sizes", "colours per image", "Left out", "contact_sheet.png"):
        assert heading in report
    assert Image.open(out / "contact_sheet.png").size[0] > 100
    assert "Not read in photos (not an image file directly in the folder): `notes.txt`" in report
    assert not [p for p in sources["root"].iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_every_clean_pixel_art_image_is_its_native_grid_exactly(sources: dict) -> None:
    out, natives = sources["out"], sources["natives"]
    rows = {Path(row["source"]).name: row for row in _manifest(out).values() if "_B/" in row["file"]}
    assert set(rows) == set(natives)  # s4_at_2 dropped as a duplicate of s4
    for name, art in natives.items():
        written = np.asarray(Image.open(out / rows[name]["file"]).convert("RGB"))
        np.testing.assert_array_equal(written, art, err_msg=name)
    assert {int(rows[f"s{k}.png"]["cell"]) for k in SCALES} == set(SCALES)


def test_bad_files_are_listed_with_their_reason_not_fatal(sources: dict) -> None:
    reasons = _reasons(sources["out"])
    assert reasons["corrupt.jpg"][0] == "unreadable"
    assert reasons["empty.png"] == ("unreadable", "empty file (0 bytes)")
    assert reasons["broken.png"][0] == "unreadable"
    assert reasons["damaged.jpg"][0] == "lossy" and "JPEG" in reasons["damaged.jpg"][1]
    assert reasons["stretched.png"][0] == "non-integer"
    assert reasons["a_photo.png"][0] == "not-pixel-art"
    assert reasons["p0_copy.png"][0] == "duplicate"
    assert reasons["p1_again.jpg"][0] == "near-duplicate"
    assert reasons["s4_at_2.png"][0] == "duplicate"
    assert (sources["out"] / "rejected" / "B_damaged.png").is_file()


def test_exif_orientation_is_applied(sources: dict) -> None:
    row = next(r for r in _manifest(sources["out"]).values() if Path(r["source"]).name == "rotated.png")
    np.testing.assert_array_equal(np.asarray(Image.open(sources["out"] / row["file"])), upright_photo())


def test_no_picture_or_near_copy_in_both_train_and_test(sources: dict) -> None:
    out = sources["out"]
    for domain in "AB":
        train = [phash(np.asarray(Image.open(p).convert("RGB"))) for p in (out / f"train_{domain}").iterdir()]
        test = [phash(np.asarray(Image.open(p).convert("RGB"))) for p in (out / f"test_{domain}").iterdir()]
        assert train and test
        assert min(bin(a ^ b).count("1") for a in train for b in test) > RELATED_BITS


def test_sources_are_unchanged(sources: dict) -> None:
    for folder, before in sources["before"].items():
        assert tree_hashes(folder) == before


def test_split_is_deterministic_by_seed(sources: dict, tmp_path: Path) -> None:
    args = ["prepare", "--photos", str(sources["photos"]), "--pixel-art", str(sources["art"]), "--test-fraction", "0.3"]
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "again")]).exit_code == 0
    assert _manifest(tmp_path / "again") == _manifest(sources["out"])


# --------------------------------------------------------------------------- check


def test_check_accepts_a_prepared_dataset_and_changes_nothing(sources: dict) -> None:
    before = tree_hashes(sources["out"])
    result = runner.invoke(app, ["check", str(sources["out"])])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output
    assert tree_hashes(sources["out"]) == before


def test_check_lists_one_line_per_problem(sources: dict, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(sources["out"], data)
    save(data / "train_B" / "upscaled.png", upscale(native_art(90), 3))
    first_test = sorted((data / "test_A").iterdir())[0]
    shutil.copy(first_test, data / "train_A" / "leak.png")
    (data / "test_B" / "bad.png").write_bytes(b"nope")
    result = runner.invoke(app, ["check", str(data)])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("train_B/upscaled.png: not at its native grid: a clean grid of 3 px") for line in lines)
    assert any("train_A/leak.png" in line and "exact duplicate" in line for line in lines)
    assert any(line.startswith("test_B/bad.png: ") for line in lines)
    assert len(lines) == 3


# --------------------------------------------------------------------------- arguments


def test_help_works() -> None:
    for args in (["--help"], ["prepare", "--help"], ["check", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--test-fraction", "1.5"], "--test-fraction must be between 0 and 1"),
        (["--test-fraction", "half"], "Invalid value for '--test-fraction'"),
        (["--seed", "-1"], "--seed must be >= 0"),
    ],
)
def test_bad_arguments_are_one_line(sources: dict, tmp_path: Path, extra: list[str], message: str) -> None:
    args = ["prepare", "--photos", str(sources["photos"]), "--pixel-art", str(sources["art"])]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "o"), *extra])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_missing_option_and_folder_are_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["prepare", "--photos", str(tmp_path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "Missing option" in result.output
    result = runner.invoke(app, ["check", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and result.output.strip().endswith("folder not found")


def test_out_must_be_new_and_outside_the_sources(sources: dict, tmp_path: Path) -> None:
    base = ["prepare", "--photos", str(sources["photos"]), "--pixel-art", str(sources["art"])]
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    result = runner.invoke(app, [*base, "--out", str(busy)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    result = runner.invoke(app, [*base, "--out", str(sources["art"] / "dataset")])
    assert result.exit_code == 2 and "read-only" in result.output


def test_too_few_usable_images_writes_nothing(tmp_path: Path) -> None:
    photos, art = tmp_path / "photos", tmp_path / "art"
    photos.mkdir()
    art.mkdir()
    save(photos / "one.png", photo(1))
    save(art / "a.png", upscale(native_art(1), 2))
    save(art / "b.png", upscale(native_art(2), 2))
    result = runner.invoke(
        app, ["prepare", "--photos", str(photos), "--pixel-art", str(art), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "at least 2 are needed" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art", "photos"]
