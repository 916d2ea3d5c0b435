"""Shared tiny data and trained models for the library tests (metrics, models,
weighting, train, recommend, cli).

Plain functions cached per process (``functools.lru_cache``), so every test module
in one pytest(-xdist) worker reuses the same simulated frame, prepared data and
trained model instead of re-training. Callers must treat the returned objects as
read-only. This is a helper module, not a conftest: import it with
``from _fixtures import ...`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import torch

from mtl.data import SplitSpec, from_frame, prepare
from mtl.data.synthetic import simulate
from mtl.models import ModelConfig
from mtl.train import Done, TrainConfig, Trainer

# The tests run tiny tensors under pytest-xdist (``-n 2``): with several OpenMP
# threads per worker on a 2-core machine, the threads spin against each other and a
# 512x4 matmul measured ~100x slower than on one thread. One thread per worker.
torch.set_num_threads(1)

#: Small network: fast on CPU, still learns something on the tiny feed.
TINY_MODEL = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,))
FEED_TASKS = ("click", "like")
BATCH = 256


def tiny_config(tasks=FEED_TASKS, **overrides) -> TrainConfig:
    """A CPU training config with the tiny network; ``overrides`` replace fields."""
    kw = dict(tasks=list(tasks), epochs=1, batch_size=BATCH, lr=5e-3, device="cpu", model=TINY_MODEL,
              patience=10, seed=0)
    kw.update(overrides)
    return TrainConfig(**kw)


@cache
def feed_frame() -> pd.DataFrame:
    """The simulated feed: 120 users, 200 items, 4,000 impressions."""
    return simulate(n_users=120, n_items=200, n_impressions=4000, seed=1)


@cache
def feed_data():
    return from_frame(feed_frame(), name="tiny-feed")


@cache
def feed_prepared(tasks: tuple[str, ...] = FEED_TASKS):
    return prepare(feed_data(), list(tasks), SplitSpec("random", seed=0), seed=0)


@cache
def mixed_frame() -> pd.DataFrame:
    """The feed with a 3-class label column (``label_mood``) next to the regression
    ``rating`` (present only after a click) and the binary ``click``."""
    df = feed_frame().copy()
    rng = np.random.default_rng(5)
    # Loosely tied to the item category so there is something to learn.
    codes = df["item_category"].astype("category").cat.codes.to_numpy()
    noise = rng.integers(0, 3, len(df))
    df["label_mood"] = np.array(["calm", "happy", "sad"], dtype=object)[np.where(rng.random(len(df)) < 0.5,
                                                                                   codes % 3, noise)]
    return df


MIXED_TASKS = ("click", "rating", "label_mood")


@cache
def mixed_prepared():
    return prepare(from_frame(mixed_frame(), name="tiny-mixed"), list(MIXED_TASKS), "random", seed=0)


@cache
def trained_feed():
    """(events, trainer, result) of a 3-epoch shared-bottom run on click+like with two
    validation evaluations per epoch. Shared by the train and recommend tests."""
    cfg = tiny_config(epochs=3, evals_per_epoch=2)
    trainer = Trainer(feed_prepared(), cfg)
    events = list(trainer.run())
    assert isinstance(events[-1], Done)
    return events, trainer, events[-1].result


def shared_parameters(model, output) -> list:
    """The parameters upstream of ``output.features``, the shared representation that
    gradient methods balance on (empty for a model that shares nothing)."""
    import torch

    if not output.features:
        return []
    params = list(model.parameters())
    total = sum(f.float().sum() for f in output.features)
    grads = torch.autograd.grad(total, params, allow_unused=True, retain_graph=True)
    return [p for p, g in zip(params, grads) if g is not None]


def run_cli(argv) -> tuple[int, str, str]:
    """``python -m mtl ARGV`` in process: ``(exit status, stdout, stderr)``."""
    import contextlib
    import io

    from mtl.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def regression_tasks(k: int, kind: str = "regression") -> list:
    from mtl.tasks import TaskSpec

    return [TaskSpec(f"t{i}", kind) for i in range(k)]


def toy_problem(method: str, pref=None, steps: int = 30, scale=(1.0, 1.0), epoch_every: int | None = None,
                warnings_fail: bool = False):
    """Two regression tasks of the same inputs through a one-unit shared bottleneck:
    they cannot both be fitted, so the weighting ``method`` decides the trade-off.
    ``scale`` multiplies each task's loss; ``epoch_every`` ends an "epoch" (the
    method's ``epoch_end`` with the window's mean losses) every that many steps; a
    method that needs the step's losses again gets them after each step. With
    ``warnings_fail`` a warning raised while the method combines the gradients fails.
    Returns the weighting and the task losses before and after ``steps`` Adam steps."""
    import warnings

    from mtl.models.base import ModelOutput
    from mtl.weighting import build_weighting

    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    y = torch.stack([x[:, 0] + 0.5 * x[:, 1], x[:, 2] - 0.5 * x[:, 1]], 1)
    torch.manual_seed(0)
    encoder = torch.nn.Linear(4, 1)
    heads = torch.nn.ModuleList(torch.nn.Linear(1, 1) for _ in range(2))
    w = build_weighting(method, regression_tasks(2), pref)
    opt = torch.optim.Adam([*encoder.parameters(), *heads.parameters(), *w.parameters()], lr=0.05)

    def forward():
        z = encoder(x)
        outs = [h(z).squeeze(-1) for h in heads]
        return ModelOutput(outs, [z]), torch.stack([s * ((o - y[:, j]) ** 2).mean()
                                                    for j, (o, s) in enumerate(zip(outs, scale))])

    before = forward()[1].detach()
    window = []
    for step in range(1, steps + 1):
        out, losses = forward()
        opt.zero_grad()
        with warnings.catch_warnings():
            if warnings_fail:
                warnings.simplefilter("error")
            w.backward(losses, out)
        opt.step()
        if w.needs_step_losses:
            with torch.no_grad():
                w.step_end(forward()[1])
        window.append(losses.detach())
        if epoch_every and step % epoch_every == 0:
            w.epoch_end(torch.stack(window).mean(0))
            window = []
    return w, before, forward()[1].detach()


def synth_csv(path, *, users: int = 60, items: int = 90, impressions: int = 2000, seed: int = 2):
    """A simulated log written by ``python -m mtl synth`` (in process), as a user makes one."""
    code, _, err = run_cli(["synth", "--out", path, "--users", users, "--items", items,
                            "--impressions", impressions, "--seed", seed])
    assert code == 0, err
    return path
