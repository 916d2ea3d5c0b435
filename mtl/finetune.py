"""Transfer to a new task: add a task to a trained model, compared with training it from scratch.

A trained multi-task model has learned shared layers (embeddings, a shared bottom or
experts) from its tasks. A new label arrives (say, ``is_follow`` after a model of
clicks and likes): :func:`finetune` trains a new tower for it on top of the model's
shared representation, and the same network trained from scratch on the same labels,
at several fractions of the new task's training labels (1%, 10%, 100% by default).
Transfer pays when labels are scarce; with every label, scratch training usually
catches up.

Modes:

* ``frozen``: the trained model's parameters stay as they are; only the new tower
  learns (``--freeze-shared``).
* ``finetuned``: the new tower and the whole trained model learn, the trained part at a
  tenth of the learning rate so that a few new labels adjust the shared layers rather
  than overwrite them.
* ``scratch``: a fresh single-task network of the same architecture and sizes, on the
  same inputs and labels: what the new task gets without the trained model.

The new tower reads the shared representation each architecture exposes to gradient
methods (:attr:`mtl.models.ModelOutput.features`): shared-bottom's bottom output,
MMoE's expert outputs with its input embeddings, PLE's input embeddings. A model that
shares nothing (``single``) has nothing to transfer and is refused.

Honest numbers: every mode uses the trained model's encoder, its split (and seed) on
the given data, so test rows of the new task are rows the trained model never trained
on when the data is the one it was trained on; the test part is never subsampled.
Labels of the new task that the trained model's encoder saw as a per-id statistic
(the smoothed rate of a label column, fitted on all training rows) are blanked for
every mode, since they would hand the new task's training labels to the 1% run.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import InteractionData, prepare
from .errors import ConfigError, DataError
from .metrics import selection_score, task_metrics
from .models import build_model
from .models.layers import mlp
from .tasks import TaskSpec, predict, task_loss

#: The label fractions compared by default.
FRACTIONS: tuple[float, ...] = (0.01, 0.1, 1.0)
MODES: dict[str, str] = {
    "frozen": "trained model kept as it is; only the new tower learns",
    "finetuned": "new tower and the trained model's layers learn (the trained part at a tenth of the learning rate)",
    "scratch": "a fresh network of the same architecture, trained on the new task alone",
}
#: Fewest labelled training rows a fraction may leave.
MIN_LABELS = 10
#: Fewest labelled validation rows kept for early stopping, whatever the fraction.
MIN_VALID = 50
#: The trained model's layers learn this much slower than the new tower when fine-tuned.
BASE_LR_SCALE = 0.1
EVAL_BATCH = 16384


class TransferModel(nn.Module):
    """A trained model's shared representation feeding a new task's tower."""

    def __init__(self, base: nn.Module, spec: TaskSpec, feature_dim: int, tower: Sequence[int], freeze: bool):
        super().__init__()
        self.base, self.spec, self.freeze = base, spec, freeze
        self.head = mlp(feature_dim, tower, out_dim=spec.output_dim)
        if freeze:
            for p in self.base.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:
            self.base.eval()  # frozen layers keep their inference behaviour (no dropout)
        return self

    def forward(self, x_cat: torch.Tensor, x_num: torch.Tensor) -> torch.Tensor:
        feats = _shared(self.base, x_cat, x_num)
        out = self.head(feats)
        return out.squeeze(-1) if self.spec.output_dim == 1 else out


class _ScratchModel(nn.Module):
    """A single-task network of the trained model's architecture, as one output."""

    def __init__(self, net: nn.Module, spec: TaskSpec):
        super().__init__()
        self.net, self.spec = net, spec

    def forward(self, x_cat: torch.Tensor, x_num: torch.Tensor) -> torch.Tensor:
        return self.net(x_cat, x_num).outputs[0]


def _shared(base: nn.Module, x_cat: torch.Tensor, x_num: torch.Tensor) -> torch.Tensor:
    feats = base(x_cat, x_num).features
    return torch.cat([f.reshape(len(x_cat), -1) for f in feats], dim=1)


@dataclass
class FinetuneResult:
    """One row per (fraction, mode): held-out test metrics of the new task."""

    task: str
    kind: str
    metric: str
    arch: str
    base_tasks: list[str]
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seed: int = 0
    stopped: bool = False
    #: The trained networks, ``{(fraction, mode): module}`` (not in :meth:`to_json`).
    models: dict = field(default_factory=dict, repr=False)

    def table(self) -> pd.DataFrame:
        """``fraction``, ``mode``, ``labelled rows``, the primary metric, its change
        against scratch training at the same fraction (signed so positive is better),
        epochs and seconds."""
        out = []
        for r in self.rows:
            value = r["test"].get(self.metric, math.nan)
            base = self.value(r["fraction"], "scratch")
            better = 1.0 if self.metric in ("auc", "accuracy", "r2", "gauc", "f1") else -1.0
            out.append({"fraction": r["fraction"], "mode": r["mode"], "labelled rows": r["labelled_rows"],
                        self.metric: value,
                        "vs scratch": better * (value - base) if r["mode"] != "scratch" else math.nan,
                        "epochs": r["epochs"], "seconds": r["seconds"]})
        return pd.DataFrame(out)

    def value(self, fraction: float, mode: str) -> float:
        for r in self.rows:
            if r["fraction"] == fraction and r["mode"] == mode:
                return float(r["test"].get(self.metric, math.nan))
        return math.nan

    def findings(self) -> list[str]:
        """Plain sentences: at each fraction, what transfer gained over scratch."""
        out = []
        better = self.metric in ("auc", "accuracy", "r2", "gauc", "f1")
        for frac in dict.fromkeys(r["fraction"] for r in self.rows):
            scratch = self.value(frac, "scratch")
            for mode in ("frozen", "finetuned"):
                v = self.value(frac, mode)
                if math.isnan(v) or math.isnan(scratch):
                    continue
                gain = (v - scratch) if better else (scratch - v)
                verdict = "beats" if gain > 0 else "trails"
                out.append(f"With {frac:.0%} of the {self.task} labels, the {mode} model {verdict} training from "
                           f"scratch: test {self.metric} {v:.4f} vs {scratch:.4f}.")
        return out

    def to_json(self) -> dict:
        return {"task": self.task, "kind": self.kind, "metric": self.metric, "arch": self.arch,
                "base_tasks": self.base_tasks, "rows": self.rows, "notes": self.notes, "seed": self.seed,
                "stopped": self.stopped}


def check_new_task(trained, data: InteractionData, task: str) -> None:
    """Raise a :class:`ConfigError` / :class:`DataError` naming what stops ``task`` from
    being added to ``trained`` with ``data``."""
    if task in trained.task_names:
        raise ConfigError(f"'{task}' is already a task of this model ({', '.join(trained.task_names)}); "
                          "choose a label it was not trained on")
    if task not in data.schema.labels:
        labels = [c for c in data.schema.labels if c not in trained.task_names]
        raise ConfigError(f"'{task}' is not a label of {data.name}; labels the model was not trained on: "
                          f"{', '.join(labels) or 'none'}")
    if not trained.model.shares_parameters:
        raise ConfigError(f"The '{trained.config.arch}' model shares no layers between tasks, so there is nothing "
                          "to transfer; add a task to a shared_bottom, mmoe or ple model")
    enc = trained.encoder
    needed = enc.categorical + enc.numeric + [s.id_column for s in enc.id_stats]
    missing = [c for c in dict.fromkeys(needed) if c not in data.frame.columns]
    if missing:
        raise DataError(f"{data.name} lacks the model's input column(s) {', '.join(missing[:5])}; add the task "
                        "with the data the model was trained on (or data with the same columns)", column=missing[0])


def _check_settings(fractions: Sequence[float], modes: Sequence[str], epochs: int) -> None:
    if not fractions:
        raise ConfigError("Give at least one label fraction")
    for f in fractions:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not (0 < f <= 1):
            raise ConfigError(f"A label fraction must be a number in (0, 1], e.g. 0.01 for 1%; got {f}")
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ConfigError(f"Unknown mode(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODES)}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 1000:
        raise ConfigError(f"epochs must be a whole number from 1 to 1,000, got {epochs}")


def finetune(
    trained,
    data: InteractionData,
    task: str,
    *,
    fractions: Sequence[float] = FRACTIONS,
    modes: Sequence[str] = ("frozen", "finetuned", "scratch"),
    epochs: int = 10,
    lr: float | None = None,
    batch_size: int | None = None,
    patience: int = 2,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FinetuneResult:
    """Add ``task`` (a label of ``data``) to ``trained`` (a
    :class:`~mtl.train.TrainedModel`) in each of ``modes``, at each fraction of the
    task's training labels. ``progress(done, total, message)`` is called before each
    training; ``should_stop()`` ends the comparison between trainings (the rows done
    so far are kept, ``stopped`` is set)."""
    modes = list(dict.fromkeys(modes))
    _check_settings(list(fractions), modes, epochs)
    fractions = sorted(dict.fromkeys(float(f) for f in fractions))
    check_new_task(trained, data, task)
    cfg = trained.config
    lr = cfg.lr if lr is None else lr
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr < 10):
        raise ConfigError(f"learning rate must be a small positive number, got {lr}")
    prepared = prepare(data, [task], cfg.split, seed=cfg.seed, id_stats=False)
    spec = prepared.tasks[0]
    parts = {name: _encode(trained, prepared, name, task) for name in ("train", "valid", "test")}
    rng = np.random.default_rng(seed)
    # Nested subsets (the 1% rows are among the 10% rows): fractions differ only in size.
    order = {name: rng.permutation(np.flatnonzero(~torch.isnan(parts[name][2]).numpy())) for name in ("train", "valid")}
    if len(order["train"]) < MIN_LABELS:
        raise DataError(f"'{task}' has only {len(order['train'])} labelled training rows; {MIN_LABELS} are needed")
    result = FinetuneResult(task=task, kind=spec.kind, metric=spec.primary_metric, arch=cfg.arch,
                            base_tasks=list(trained.task_names), seed=seed)
    if any(s.label == task for s in trained.encoder.id_stats):
        result.notes.append(f"The model's inputs included per-user/item rates of '{task}' (fitted on all its "
                            "training labels); they are blanked here for every mode. For an exact account, train "
                            f"the model on data without the '{task}' column.")
    total, done = len(fractions) * len(modes), 0
    for frac in fractions:
        n_train = math.ceil(frac * len(order["train"]))
        if n_train < MIN_LABELS:
            raise ConfigError(f"{frac:g} of the {len(order['train']):,} labelled training rows of '{task}' is "
                              f"{n_train}; at least {MIN_LABELS} are needed (use a larger fraction)")
        train_rows = np.sort(order["train"][:n_train])
        if spec.kind == "binary" and len(np.unique(parts["train"][2][train_rows].numpy())) < 2:
            raise DataError(f"{frac:g} of the '{task}' labels holds a single class; use a larger fraction")
        batch = batch_size or _batch_for(n_train, cfg.batch_size)
        n_valid = min(len(order["valid"]), max(MIN_VALID, math.ceil(frac * len(order["valid"]))))
        valid_rows = np.sort(order["valid"][:n_valid])
        for mode in modes:
            if should_stop is not None and should_stop():
                result.stopped = True
                return result
            if progress is not None:
                progress(done, total, f"{mode} with {frac:.0%} of the labels ({n_train:,} rows)")
            model, groups = _build(mode, trained, spec, parts["train"], seed)
            row = _fit(model, groups, spec, parts, train_rows, valid_rows, prepared, epochs=epochs, lr=lr,
                       batch=batch, patience=patience, seed=seed)
            result.models[(frac, mode)] = row.pop("model")
            row.update(fraction=frac, mode=mode, labelled_rows=int(n_train))
            result.rows.append(row)
            done += 1
    if progress is not None:
        progress(total, total, "done")
    return result


def _batch_for(n: int, largest: int) -> int:
    """Enough optimizer steps on a few labels: halve until an epoch has 20 steps (>= 32)."""
    batch = largest
    while batch > 32 and n / batch < 20:
        batch //= 2
    return batch


def _encode(trained, prepared, name: str, task: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    part = prepared.part(name)
    frame = prepared.data.frame.iloc[part.rows]
    x_cat, x_num = trained.encoder.transform(frame)
    enc = trained.encoder
    for j, stat in enumerate(enc.id_stats):
        if stat.label == task:
            x_num[:, len(enc.numeric) + j] = 0.0  # the standardized mean: no information
    return torch.from_numpy(x_cat), torch.from_numpy(x_num), part.y[:, 0].clone()


def _build(mode: str, trained, spec: TaskSpec, train_part, seed: int) -> tuple[nn.Module, list[dict]]:
    torch.manual_seed(seed)
    cfg = trained.config
    if mode == "scratch":
        net = build_model(cfg.arch, trained.model.cardinalities, trained.model.num_dim, [spec],
                          replace(trained.model.config, conditioned=False))
        model = _ScratchModel(net, spec)
        return model, [{"params": list(model.parameters())}]
    base = copy.deepcopy(trained.model).cpu()
    if hasattr(base, "input"):
        base.input.unfuse()  # per-row features for the new tower (see InputLayer.unfuse)
    with torch.no_grad():
        base.eval()
        dim = _shared(base, train_part[0][:2], train_part[1][:2]).shape[1]
    torch.manual_seed(seed)
    model = TransferModel(base, spec, dim, trained.model.config.tower, freeze=mode == "frozen")
    groups = [{"params": list(model.head.parameters())}]
    if mode == "finetuned":
        groups.append({"params": list(model.base.parameters()), "lr_scale": BASE_LR_SCALE})
    return model, groups


@torch.no_grad()
def _predict(model: nn.Module, spec: TaskSpec, x_cat: torch.Tensor, x_num: torch.Tensor) -> np.ndarray:
    model.eval()
    outs = [predict(spec, model(x_cat[a:a + EVAL_BATCH], x_num[a:a + EVAL_BATCH])).float()
            for a in range(0, len(x_cat), EVAL_BATCH)]
    return torch.cat(outs).numpy() if outs else np.zeros(0)


def _metrics(spec: TaskSpec, y: torch.Tensor, pred: np.ndarray, groups=None) -> dict[str, float]:
    truth = y.numpy().astype(float)
    if spec.kind == "regression":
        truth = truth * spec.std + spec.mean
    return task_metrics(spec, truth, pred, groups)


def _fit(model: nn.Module, groups: list[dict], spec: TaskSpec, parts: dict, train_rows: np.ndarray,
         valid_rows: np.ndarray, prepared, *, epochs: int, lr: float, batch: int, patience: int, seed: int) -> dict:
    """Adam with early stopping on the validation rows; test metrics of the best epoch."""
    param_groups = [{"params": g["params"], "lr": lr * g.get("lr_scale", 1.0)} for g in groups]
    optimizer = torch.optim.Adam(param_groups, lr=lr)
    x_cat, x_num, y = (t[train_rows] for t in parts["train"])
    vx_cat, vx_num, vy = (t[valid_rows] for t in parts["valid"])
    gen = torch.Generator().manual_seed(seed)
    best, best_state, best_epoch, since = -math.inf, None, 0, 0
    start = time.perf_counter()
    epochs_run = 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x_cat), generator=gen)
        for a in range(0, len(order), batch):
            idx = order[a:a + batch]
            loss = task_loss(spec, model(x_cat[idx], x_num[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        epochs_run = epoch
        score = selection_score(spec, _metrics(spec, vy, _predict(model, spec, vx_cat, vx_num)))
        if score > best:
            best, best_epoch, since = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since += 1
            if since >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    tx_cat, tx_num, ty = parts["test"]
    test = _metrics(spec, ty, _predict(model, spec, tx_cat, tx_num), prepared.test.groups)
    return {"test": test, "valid_score": best, "best_epoch": best_epoch, "epochs": epochs_run,
            "seconds": round(time.perf_counter() - start, 3), "model": model}
