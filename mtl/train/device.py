"""Which compute devices this machine offers, and resolving the user's choice."""

from __future__ import annotations

import torch

from ..errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def available_devices() -> dict[str, str]:
    """Devices usable here: name -> human description (CPU is always present)."""
    out = {"cpu": f"CPU ({torch.get_num_threads()} threads)"}
    if torch.cuda.is_available():
        out["cuda"] = f"CUDA GPU: {torch.cuda.get_device_name(0)}"
    if _mps_available():
        out["mps"] = "Apple GPU (MPS)"
    return out


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU. Asking for a missing device is an error."""
    if name not in DEVICES:
        raise ConfigError(f"Unknown device '{name}'; choose one of: {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA was requested but no CUDA GPU is available here; use --device cpu or auto")
    if name == "mps" and not _mps_available():
        raise ConfigError("MPS was requested but no Apple GPU is available here; use --device cpu or auto")
    return torch.device(name)
