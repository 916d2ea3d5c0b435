"""Adam for the training loop, without ``torch.optim.Optimizer``'s start-up cost.

``torch.optim.Optimizer`` imports ``torch._dynamo`` (the ``torch.compile`` front end)
when the first optimizer is built and again in every ``step()``: a one-off 2-2.5 s of
CPU on a 2-core machine, about a tenth of ``python -m mtl train`` on the KuaiRand
sample and a second or two of the app's first training, for a compiler this loop
never uses. :class:`Adam` keeps the state itself and calls PyTorch's own functional
Adam (``torch.optim.adam.adam``, the kernels ``torch.optim.Adam`` runs: one fused
kernel where the build has it), so its updates are ``torch.optim.Adam``'s bit for bit
(``tests/test_train.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.adam import adam


def fused_device_types() -> tuple[str, ...]:
    """Device types with PyTorch's fused Adam kernel, as ``torch.optim.Adam`` finds them.

    PyTorch answers this only through a private helper; should a release move it, the
    unfused kernel is used (the same update to float rounding) rather than failing to
    train."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices
    except ImportError:
        return ()
    return tuple(_get_fused_kernels_supported_devices())


class Adam:
    """Adam (Kingma & Ba, 2015) with L2 ``weight_decay`` as in ``torch.optim.Adam``:
    ``zero_grad()`` and ``step()``; parameters without a gradient are left alone and
    get their state at their first gradient."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        if not self.params:
            raise ValueError("Adam got no parameters to optimize")
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        supported = fused_device_types()
        self.fused = all(p.device.type in supported and torch.is_floating_point(p) for p in self.params)
        self.state: dict[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    def _state(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if p not in self.state:
            # Where torch.optim.Adam keeps its step count: on the parameter's device
            # for the fused kernel, a float on the CPU otherwise.
            step = (torch.zeros((), dtype=torch.float32, device=p.device) if self.fused
                    else torch.tensor(0.0, dtype=torch.get_default_dtype()))
            self.state[p] = (step, torch.zeros_like(p, memory_format=torch.preserve_format),
                             torch.zeros_like(p, memory_format=torch.preserve_format))
        return self.state[p]

    @torch.no_grad()
    def step(self) -> None:
        params = [p for p in self.params if p.grad is not None]
        if not params:
            return
        if any(p.grad.is_sparse for p in params):
            raise RuntimeError("Adam does not support sparse gradients")
        steps, avgs, sqs = zip(*(self._state(p) for p in params))
        adam(params, [p.grad for p in params], list(avgs), list(sqs), [], list(steps), fused=self.fused,
             foreach=False, amsgrad=False, beta1=self.betas[0], beta2=self.betas[1], lr=self.lr,
             weight_decay=self.weight_decay, eps=self.eps, maximize=False,
             has_complex=any(torch.is_complex(p) for p in params))
