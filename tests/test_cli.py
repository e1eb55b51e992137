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
    for command in ("translate", "app", "convert"):
        assert f"  {command} " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 False"


def test_no_command_prints_the_overview_and_succeeds(capsys):
    assert main([]) == 0
    assert "Commands:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nope"], "No such command 'nope'"),
        (["translate", "--direction", "sideways", "--checkpoint", "c", "--input", "i", "--output", "o"], "sideways"),
        (["translate", "--checkpoint", "c"], "Missing option"),
        (["convert"], "Missing argument"),
    ],
)
def test_usage_mistakes_exit_2_with_the_reason_and_no_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_dtype_choices_are_the_translators():
    from pixel_gan.cli.translate import DTYPE_NAMES
    from pixel_gan.inference.translator import DTYPES

    assert sorted(DTYPE_NAMES) == sorted(DTYPES)
