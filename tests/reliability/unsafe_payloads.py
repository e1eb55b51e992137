"""Files that run code when loaded the unsafe way: the stand-ins for a malicious checkpoint.

Each writer puts a payload into a file whose format a loader of pixel-gan accepts, and returns
the marker file the payload would create. A loader is safe when it refuses the file and the
marker never appears.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch


class Payload:
    """Unpickling this runs code: ``exec`` writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def marker_for(path: Path) -> Path:
    return path.parent / f"{path.name}.payload-ran"


def torch_pickle(path: Path, legacy: bool = False) -> Path:
    """A torch checkpoint (zip archive, or a plain pickle when ``legacy``) holding tensors and the payload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = marker_for(path)
    checkpoint = {"global_step": 3, "state_dict": {"w": torch.ones(2)}, "extra": Payload(marker)}
    if legacy:
        path.write_bytes(pickle.dumps(checkpoint))
    else:
        torch.save(checkpoint, path)
    return marker


def python_yaml(path: Path) -> Path:
    """A YAML file whose tag asks a full loader to call ``exec``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = marker_for(path)
    code = f"open({str(marker)!r}, 'w').write('ran')"
    path.write_text(f"model: !!python/object/apply:builtins.exec [{code!r}]\nresolution: 32\n")
    return marker


def evil_checkpoint(tmp_path: Path, legacy: bool = False) -> tuple[Path, Path]:
    """(checkpoint, marker) in ``tmp_path``."""
    path = tmp_path / ("legacy.ckpt" if legacy else "evil.ckpt")
    return path, torch_pickle(path, legacy)
