"""The Gradio app without a browser: translator discovery, path checks, upload limits, serving rules."""

from __future__ import annotations

import inspect
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")

from ui_support import gradio_env_restored  # noqa: E402

from pixel_gan.ui.app import PixelApp, build_app, find_translators, launch_app  # noqa: E402 - after the gradio skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def outputs_root(tmp_path_factory, tiny_export) -> Path:
    """Two runs under a nested outputs/ tree, plus a broken export that must be ignored."""
    root = tmp_path_factory.mktemp("outputs")
    tiny_export(
        root / "64_palette" / "2026-01-01_10-00-00",
        experiment="64_palette",
        resolution=32,
        edge_preset={"name": "medium"},
        loss="palette",
    )
    broken = root / "broken" / "run" / "translator"
    broken.mkdir(parents=True)
    (broken / "translator.yaml").write_text("::: not yaml [")
    return root


@pytest.fixture(scope="module")
def extra_dir(tmp_path_factory, tiny_export) -> Path:
    run = tmp_path_factory.mktemp("elsewhere") / "my-run"
    tiny_export(run, experiment="base_256", edge_preset={"name": "low"}, loss="separate")
    return run


@pytest.fixture(scope="module")
def app(outputs_root, extra_dir, tmp_path_factory):
    """The app with small limits; Gradio's folder variables are restored afterwards."""
    with gradio_env_restored():
        blocks = build_app(
            [extra_dir],
            outputs_root,
            work_dir=tmp_path_factory.mktemp("work"),
            examples_dir=None,
            max_bytes=200_000,
            max_pixels=300 * 300,
            device="cpu",
        )
        yield blocks.pixel_app


def upload(app: PixelApp, image: Image.Image, name: str = "photo.png") -> str:
    """Put a file where Gradio puts uploads."""
    app.upload_dir.mkdir(parents=True, exist_ok=True)
    path = app.upload_dir / name
    image.save(path)
    return str(path)


def test_translator_labels_come_from_translator_yaml(outputs_root, extra_dir):
    entries = find_translators(outputs_root, [extra_dir])
    labels = [e.label for e in entries]
    assert len(entries) == 2, labels
    assert "64_palette · 32 px · edges medium · loss palette — 64_palette/2026-01-01_10-00-00" in labels
    assert "base_256 · 32 px · edges low · loss separate — my-run" in labels
    assert all("broken" not in label for label in labels)


def test_convert_returns_results_beside_the_input(app):
    source = upload(app, Image.new("RGB", (60, 40), (200, 120, 40)))
    labels = list(app.entries)
    assert len(app.cache) == 0  # nothing is loaded until it is used
    gallery, files, status = app.convert(source, labels, "16", "none", "pico8", None, False, "4")
    assert gallery[0][1].startswith("input 60×40")
    assert [caption.split(" · 16×")[0] for _, caption in gallery[1:]] == labels
    assert len(files) == 4 and status.startswith("Done")
    sizes = sorted(Image.open(f).size for f in files)
    assert sizes == [(16, 12), (16, 12), (64, 48), (64, 48)]  # 60×40 → model 32×24 → 16×12
    for f in files:
        assert Path(f).resolve().is_relative_to(app.sessions_dir)
    app.convert(source, labels[:1], "16", "none", "none", None, False, "1")
    assert len(app.cache) == 2  # cached, not reloaded


@pytest.mark.parametrize(
    "bad", ["../../../../etc/passwd", "/etc/passwd", "{work}/gradio/../sessions/x.png", "{outside}"]
)
def test_path_like_inputs_outside_the_upload_folder_are_refused(app, bad, tmp_path):
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    path = bad.format(work=app.work_dir, outside=outside)
    label = next(iter(app.entries))
    with pytest.raises(gr.Error, match="refused"):
        app.convert(path, [label])
    with pytest.raises(gr.Error, match="refused"):
        app.convert(upload(app, Image.new("RGB", (8, 8))), [label], palette_file=path)


@pytest.mark.parametrize("target", ["file", "folder"])
def test_a_symlink_in_the_upload_folder_that_leads_outside_is_refused(app, target, tmp_path):
    """Resolving happens before the check: a link planted among the uploads reads nothing outside."""
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    app.upload_dir.mkdir(parents=True, exist_ok=True)
    link = app.upload_dir / f"innocent-{target}.png"
    link.unlink(missing_ok=True)
    link.symlink_to(outside if target == "file" else tmp_path)
    path = str(link) if target == "file" else str(link / "secret.png")
    label = next(iter(app.entries))
    with pytest.raises(gr.Error, match="is not a file this app received"):
        app.convert(path, [label])
    with pytest.raises(gr.Error, match="is not a file this app received"):
        app.convert(upload(app, Image.new("RGB", (8, 8))), [label], palette_file=path)


def test_a_translator_folder_given_by_path_is_refused(app, extra_dir, tmp_path, tiny_export):
    """The checkpoint choice accepts the offered labels only, never a path, even to a real translator."""
    elsewhere = tiny_export(tmp_path / "not-offered")
    image = upload(app, Image.new("RGB", (8, 8)))
    for value in (str(elsewhere), str(extra_dir / "translator"), "../" * 6 + str(elsewhere)):
        with pytest.raises(gr.Error, match="unknown translator"):
            app.convert(image, [value])
    assert all(path.resolve() != elsewhere.resolve() for path in app.cache._items)


def test_the_command_binds_to_this_machine_only_by_default():
    from pixel_gan.cli.app import command

    assert inspect.signature(command).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(launch_app).parameters["host"].default == "127.0.0.1"


@pytest.mark.parametrize(
    "field, value",
    [
        ("labels", "../../etc"),
        ("palette", "../palette.hex"),
        ("palette", "/etc/passwd"),
        ("resolution", "9999"),
        ("upscale", "1000"),
    ],
)
def test_only_offered_choices_are_accepted(app, field, value):
    args = {"image_path": upload(app, Image.new("RGB", (8, 8))), "labels": list(app.entries)[:1]}
    args[field] = value
    with pytest.raises(gr.Error, match="unknown"):
        app.convert(**args)


def test_upload_limits(app):
    label = list(app.entries)[:1]
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (280, 280, 3), dtype=np.uint8))
    with pytest.raises(gr.Error, match="MB; the limit is"):
        app.convert(upload(app, noisy, "big.png"), label)
    with pytest.raises(gr.Error, match="megapixels; the limit is"):
        app.convert(upload(app, Image.new("RGB", (400, 300)), "wide.png"), label)
    (app.upload_dir / "fake.png").write_text("not an image")
    with pytest.raises(gr.Error, match="not a readable image"):
        app.convert(str(app.upload_dir / "fake.png"), label)


def test_server_binds_localhost_and_serves_only_its_own_files(app, outputs_root):
    import httpx

    blocks = app.build()
    port = free_port()
    launch_app(blocks, port=port, prevent_thread_lock=True, quiet=True)
    try:
        assert blocks.server_name == "127.0.0.1"
        base = f"http://127.0.0.1:{port}/gradio_api/file="
        weights = next(outputs_root.rglob("model.safetensors"))
        for target in [
            "/etc/passwd",
            "../../../../etc/passwd",
            "..%2F..%2F..%2Fetc%2Fpasswd",
            str(weights),
            str(app.work_dir / "gradio" / ".." / ".." / "secret"),
        ]:
            response = httpx.get(base + target)
            assert response.status_code in (403, 404), target
        result = app.convert(upload(app, Image.new("RGB", (16, 16), (9, 9, 9))), list(app.entries)[:1])[1][0]
        assert httpx.get(base + result).status_code == 200
    finally:
        blocks.close()


def test_main_without_translators_exits_2(tmp_path, capsys):
    from pixel_gan.cli.app import main

    assert main(["--outputs-root", str(tmp_path), "--work-dir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no exported translators found") and len(err.strip().splitlines()) == 1
    shutil.rmtree(tmp_path / "w", ignore_errors=True)
