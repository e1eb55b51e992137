"""The ``pixel-gan`` entry: its commands, exit codes, and a help that does not load the models."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pixel_gan.cli import main


def test_help_lists_the_commands_without_importing_torch():
    code = "import sys; from pixel_gan.cli import main; rc = main(['--help']); print(rc, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("translate", "app", "convert", "export", "weights", "data"):
        assert f"  {command} " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 False"


def test_no_command_prints_the_overview_and_succeeds(capsys):
    assert main([]) == 0
    assert "Commands:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message, command",
    [
        (["nope"], "No such command 'nope'", "pixel-gan"),
        (
            ["translate", "--direction", "sideways", "--checkpoint", "c", "--input", "i", "--output", "o"],
            "sideways",
            "pixel-gan translate",
        ),
        (["translate", "--checkpoint", "c"], "Missing option", "pixel-gan translate"),
        (["translate", "--precision", "fp64"], "'fp64' is not one of fp32, bf16, fp16", "pixel-gan translate"),
        (["convert"], "Missing argument", "pixel-gan convert"),
        (["export", "src"], "Missing argument 'OUT'", "pixel-gan export"),
        (["app", "--port", "many"], "Invalid value for '--port'", "pixel-gan app"),
        (["weights", "fetch", "--bogus"], "No such option: --bogus", "pixel-gan weights fetch"),
        (["weights", "nope"], "No such command 'nope'", "pixel-gan weights"),
        (["data", "prepare"], "Missing option '--photos'", "pixel-gan data prepare"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(argv, message, command, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message in err and err.rstrip().endswith(f"(see '{command} --help')"), err


def test_export_without_merged_is_refused_before_loading(capsys):
    assert main(["export", "nowhere", "out"]) == 2
    assert capsys.readouterr().err.startswith("error: pass --merged")


def test_the_precision_choices_are_the_translators():
    from pixel_gan.inference.options import PRECISION_NAMES
    from pixel_gan.inference.precision import PRECISIONS

    assert list(PRECISIONS) == list(PRECISION_NAMES)
    for command in ("translate", "export"):
        assert main([command, "--help"]) == 0
