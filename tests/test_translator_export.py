"""The export folder: old folders keep loading and translating, new ones store the edge preset's numbers.

``tests/fixtures/translator_v0`` was written by the code before ``save_pretrained`` existed: its
``translator.yaml`` names the edge preset (``medium``, thresholds null) instead of storing the
numbers. ``translator_v0_expected.png`` is what that code made of ``translator_v0_input.png``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from safetensors.torch import load_file

from pixel_gan.inference.translator import Translator

FIXTURES = Path(__file__).parent / "fixtures"
OLD_EXPORT = FIXTURES / "translator_v0"
# The medium preset as the old code's table had it (pixel_gan/data/edges.py at the time).
MEDIUM = {"name": "medium", "low_threshold": 125, "high_threshold": 200, "min_area": 150, "grayscale": True}


@pytest.fixture(scope="module")
def old(tiny_dir) -> Translator:
    return Translator.from_pretrained(OLD_EXPORT, base=str(tiny_dir), device="cpu")


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_an_export_written_before_the_typed_config_translates_as_it_did(old):
    out = old.translate(Image.open(FIXTURES / "translator_v0_input.png"))
    expected = Image.open(FIXTURES / "translator_v0_expected.png")
    assert out.size == expected.size == (24, 32)
    assert np.abs(as_array(out) - as_array(expected)).max() <= 2


def test_the_edge_preset_named_in_an_old_export_is_resolved_once_when_read(old):
    preset = old.edge_preset
    assert {k: getattr(preset, k) for k in MEDIUM} == MEDIUM and preset.mode == "overlay"
    assert (old.config.resolution, old.config.prompts, old.config.step) == (32, ("a photo", "pixel art"), 7)


def test_save_pretrained_writes_the_numbers_and_the_same_tensors(old, tiny_dir, tmp_path):
    out = old.save_pretrained(tmp_path / "again")
    written = yaml.safe_load((out / "translator.yaml").read_text())
    assert written["edge_preset"] == {**MEDIUM, "mode": "overlay"}
    assert written["model"]["lora"] == yaml.safe_load((OLD_EXPORT / "translator.yaml").read_text())["model"]["lora"]
    before, after = load_file(str(OLD_EXPORT / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert set(before) == set(after) and all(bool((before[k] == after[k]).all()) for k in before)


def test_stored_numbers_win_over_the_preset_table(tmp_path, tiny_dir):
    export = tmp_path / "translator"
    shutil.copytree(OLD_EXPORT, export)
    meta = yaml.safe_load((export / "translator.yaml").read_text())
    meta["edge_preset"] = {**MEDIUM, "low_threshold": 40, "mode": "replace"}  # not today's medium
    (export / "translator.yaml").write_text(yaml.safe_dump(meta))
    translator = Translator.from_pretrained(tmp_path, base=str(tiny_dir), device="cpu")  # a run folder works too
    assert (translator.edge_preset.low_threshold, translator.edge_preset.mode) == (40, "replace")


def test_a_hub_id_is_fetched_into_the_cache_and_loaded(tiny_dir, tmp_path, monkeypatch):
    import huggingface_hub

    asked = []

    def snapshot_download(repo_id, allow_patterns):
        asked.append((repo_id, sorted(allow_patterns)))
        return str(shutil.copytree(OLD_EXPORT, tmp_path / "hub-cache" / "snapshot"))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    translator = Translator.from_pretrained("someone/pixel-translator", base=str(tiny_dir), device="cpu")
    assert asked == [("someone/pixel-translator", ["model.safetensors", "translator.yaml"])]
    assert translator.edge_preset.name == "medium"


def test_an_unreachable_hub_id_is_one_line_naming_it(monkeypatch):
    import huggingface_hub

    from pixel_gan.inference.export import CheckpointError

    def offline(repo_id, allow_patterns):
        raise OSError("We couldn't connect to the hub.\nMore detail")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(CheckpointError) as info:
        Translator.from_pretrained("someone/missing-translator", device="cpu")
    message = str(info.value)
    assert "someone/missing-translator is not a local folder" in message and "couldn't connect" in message
    assert "\n" not in message
