"""No broken state is saved or accepted: a step that makes a weight non-finite is undone, a translator
with NaN weights or an impossible translator.yaml is refused, a checkpoint of another model is named,
and two identical CPU runs give bit-identical weights."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from pixel_gan.cli.translate import main as translate
from pixel_gan.inference.export import save_translator


# --- a step that leaves a non-finite weight is rolled back ----------------------------------------
def optimizer_state(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Parameters and every state tensor, in a fixed order (copies)."""
    params = [p for g in opt.param_groups for p in g["params"]]
    state = [t for p in params for t in opt.state.get(p, {}).values() if isinstance(t, torch.Tensor)]
    return [t.detach().clone() for t in params + state]


class AroundSecondIteration(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 1:
            self.before = [optimizer_state(o) for o in trainer.optimizers]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == 1:
            self.after = [optimizer_state(o) for o in trainer.optimizers]


def test_a_step_that_makes_a_weight_non_finite_is_undone_and_counted_as_skipped(build_module, monkeypatch, cpu_trainer):
    module, dm = build_module()
    original, calls = torch.optim.AdamW.step, {"n": 0}

    def step_that_overflows(self, closure=None):
        result = original(self, closure)
        calls["n"] += 1
        if calls["n"] == 3:  # the generator step of the second iteration (G, D, G, D, ...)
            self.param_groups[0]["params"][0].data.view(-1)[0] = float("inf")
        return result

    monkeypatch.setattr(torch.optim.AdamW, "step", step_that_overflows)
    around = AroundSecondIteration()
    cpu_trainer(3, around).fit(module, datamodule=dm)
    (g_before, d_before), (g_after, d_after) = around.before, around.after
    assert len(g_before) == len(g_after)  # the optimizer state has the same tensors again
    assert all(torch.equal(a, b) for a, b in zip(g_before, g_after, strict=True))  # weights and moments
    assert not all(torch.equal(a, b) for a, b in zip(d_before, d_after, strict=True))  # D still stepped
    assert module.skipped_steps == 1
    assert all(torch.isfinite(t).all() for t in module.generator.trainable_state_dict().values())


# --- the issue's runs, as subprocesses ---------------------------------------------------------------
def tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint: trained weights and optimizer state."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    found = dict(checkpoint["state_dict"])
    for i, opt in enumerate(checkpoint["optimizer_states"]):
        for pid, state in opt["state"].items():
            found.update({f"opt{i}.{pid}.{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
    return found


@pytest.fixture(scope="module")
def huge_lr_run(train_cli, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("huge-lr")
    result = train_cli.run_in(
        run_dir, "optim.lr=1e9", "max_consecutive_skips=3", "trainer.max_steps=30", "export=true", timeout=120
    )
    return run_dir, result


@pytest.mark.timeout(150)
def test_a_huge_learning_rate_stops_in_seconds_and_saves_no_non_finite_weight(huge_lr_run):
    run_dir, result = huge_lr_run
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "consecutive iterations" in errors[0] and "optim.lr" in errors[0]
    assert "Traceback" not in result.stderr
    saved = tensors(run_dir / "checkpoints" / "last.ckpt")
    assert saved and all(torch.isfinite(v).all() for v in saved.values() if v.is_floating_point())
    assert not (run_dir / "translator").exists()


@pytest.mark.timeout(150)
def test_a_checkpoint_of_another_lora_rank_is_one_line_naming_the_file(huge_lr_run, train_cli, tmp_path):
    last = huge_lr_run[0] / "checkpoints" / "last.ckpt"
    result = train_cli.run_in(tmp_path / "resume", f"ckpt_path={last}", "model.lora.unet_rank=4", timeout=120)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert errors[-1].startswith(f"error: ckpt_path='{last}': checkpoint does not match this model config"), errors
    assert "other shapes" in errors[-1] and "Traceback" not in result.stderr


@pytest.mark.timeout(240)
def test_two_identical_cpu_runs_give_bit_identical_weights(train_cli, tmp_path):
    """The second run finds the tiny backbone the first one built into its empty cache: same result."""
    first = train_cli.run_in(tmp_path / "first", f"paths.cache_dir={tmp_path / 'empty-cache'}", timeout=180)
    second = train_cli.run_in(tmp_path / "second", timeout=180)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    a, b = (tensors(tmp_path / run / "checkpoints" / "last.ckpt") for run in ("first", "second"))
    assert a.keys() == b.keys() and len(a) > 100
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


# --- translators that cannot work are refused when loaded --------------------------------------------
def broken_translator(tiny_export, run: Path, case: str) -> Path:
    if case == "nan-weights":
        export = tiny_export(run)
        state = load_file(str(export / "model.safetensors"))
        name = sorted(state)[3]
        state[name] = state[name].clone()
        state[name].view(-1)[0] = float("nan")
        save_file(state, str(export / "model.safetensors"))
        return export
    lora = {"unet_rank": 8, "unet_alpha": 8}
    meta = {
        "resolution-zero": {"resolution": 0},
        "unknown-lora-key": {"model_lora": {**lora, "unet_rnak": 8}},
        "mistyped-lora-value": {"model_lora": {**lora, "vae_rank": "four"}},
        "empty-prompts": {"prompts": []},
        "blank-prompt": {"prompts": ["a photo", " "]},
    }[case]
    export = tiny_export(run)  # the writer refuses these configs: the yaml is edited on disk afterwards
    path = export / "translator.yaml"
    data = yaml.safe_load(path.read_text())
    data.update({k: v for k, v in meta.items() if k != "model_lora"})
    if "model_lora" in meta:
        data["model"]["lora"] = meta["model_lora"]
    path.write_text(yaml.safe_dump(data))
    return export


@pytest.mark.parametrize(
    "case, message",
    [
        ("nan-weights", "model.safetensors: 1 tensors hold NaN/inf"),
        ("resolution-zero", "translator.yaml: resolution must be a positive multiple of 8, got 0"),
        ("unknown-lora-key", "translator.yaml: model.lora.unet_rnak is not a LoRA setting"),
        ("mistyped-lora-value", "translator.yaml: model.lora.vae_rank must be an integer >= 1, got 'four'"),
        ("empty-prompts", "translator.yaml: prompts must be two non-empty captions"),
        ("blank-prompt", "translator.yaml: prompts must be two non-empty captions"),
    ],
)
def test_a_broken_translator_is_refused_with_one_line(tiny_export, tmp_path, capsys, case, message):
    export = broken_translator(tiny_export, tmp_path / "run", case)
    (tmp_path / "in").mkdir()
    from PIL import Image

    Image.new("RGB", (16, 16), (200, 30, 30)).save(tmp_path / "in" / "photo.png")
    code = translate(["--checkpoint", str(export), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and message in err[0] and str(export) in err[0], err
    assert not (tmp_path / "out").exists()


def test_non_finite_weights_are_never_exported(tmp_path):
    with pytest.raises(ValueError, match="tensors hold NaN/inf"):
        save_translator(tmp_path / "translator", {"w": torch.tensor([1.0, float("inf")])}, {"model": {}})
    assert not (tmp_path / "translator").exists()


def test_an_impossible_config_is_never_exported(tmp_path):
    with pytest.raises(ValueError, match="resolution must be a positive multiple of 8, got 12"):
        save_translator(tmp_path / "translator", {"w": torch.ones(2)}, {"model": {}, "resolution": 12})
    assert not (tmp_path / "translator").exists()
