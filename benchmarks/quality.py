"""Quality against a strong tabular peer (and, on simulated data, the Bayes optimum), on the same splits.

For each bundled dataset we train our architectures and, per task, the peer:
scikit-learn ``HistGradientBoostingClassifier`` on the same rows and the same
features, with user / item ids target-encoded (scikit-learn ``TargetEncoder``,
cross-fitted on the training rows; these are the per-id statistics of
``mtl.data.prepare``) and low-cardinality categorical columns as native categories.
Both are early-stopped (ours on the validation split, the peer on an internal 10%
of train) and scored on the same held-out test rows.

* Simulated feed: random 80/10/10; the true probabilities give the Bayes-optimal AUC
  of the test rows, so the table also shows each model's gap to it.
* KuaiRand: time split (train <= 20220505, valid 20220506, test >= 20220507).
* Census-Income: random 80/10/10.

Variants (``--variants``) are model options compared on the same splits and seeds:
``none`` (the plain input layer), ``fm``, ``dcn`` (``ModelConfig.interaction``),
``periodic`` (``ModelConfig.num_embedding``), training and size settings as
``key=value`` (``lr``, ``wd``, ``batch``, ``patience``, ``epochs``, ``evals``, ``emb``, ``dropout``,
``cross``, ``proj`` (``input_proj``), ``hidden``, ``tower``; sizes ``x``-joined), and ``+``-joined combinations
(``dcn+periodic+lr=1e-3+hidden=256x128``). Each cell is the mean ± standard deviation over ``--seeds`` seeds
(each seed re-draws the split where it is random, the initialization and the order).

Run: ``.venv/bin/python benchmarks/quality.py [--datasets simulated,kuairand,census]
[--archs shared_bottom,mmoe] [--variants none,fm,dcn,periodic] [--seeds 3] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score

from mtl.data import prepare
from mtl.data.samples import SAMPLES, load_sample
from mtl.data.synthetic import bayes_auc
from mtl.models import ModelConfig
from mtl.models._interactions import INTERACTIONS, NUM_EMBEDDINGS
from mtl.train import TrainConfig, Trainer

MAX_NATIVE_CATEGORIES = 255


def peer_features(prepared, part):
    """Numeric features (incl. cross-fitted id statistics) plus categorical codes that
    HistGradientBoosting can treat natively (<= 255 categories; ids are represented
    by their target encodings instead)."""
    enc = prepared.encoder
    keep = [j for j, card in enumerate(enc.cardinalities) if card <= MAX_NATIVE_CATEGORIES]
    x = np.hstack([part.x_num.numpy(), part.x_cat.numpy()[:, keep].astype(np.float64)])
    categorical = np.r_[np.zeros(part.x_num.shape[1], bool), np.ones(len(keep), bool)]
    return x, categorical


def run_peer(prepared, seed: int) -> tuple[dict[str, float], float]:
    """The peer's test metric per task (AUC for a 0/1 task, RMSE in the label's units for
    a numeric one) and its training seconds."""
    x_tr, cat = peer_features(prepared, prepared.train)
    x_te, _ = peer_features(prepared, prepared.test)
    scores, start = {}, time.perf_counter()
    for j, task in enumerate(prepared.tasks):
        y_tr, y_te = prepared.train.y[:, j].numpy(), prepared.test.y[:, j].numpy()
        has_tr, has_te = ~np.isnan(y_tr), ~np.isnan(y_te)
        common = dict(max_iter=500, learning_rate=0.1, categorical_features=cat, early_stopping=True,
                      validation_fraction=0.1, n_iter_no_change=20, random_state=seed)
        if task.kind == "regression":  # the prepared targets are standardized; RMSE in the label's units
            reg = HistGradientBoostingRegressor(**common).fit(x_tr[has_tr], y_tr[has_tr])
            err = (reg.predict(x_te[has_te]) - y_te[has_te]) * task.std
            scores[task.name] = float(np.sqrt(np.mean(err ** 2)))
            continue
        clf = HistGradientBoostingClassifier(**common)
        clf.fit(x_tr[has_tr], y_tr[has_tr].astype(int))
        scores[task.name] = roc_auc_score(y_te[has_te].astype(int), clf.predict_proba(x_te[has_te])[:, 1])
    return scores, time.perf_counter() - start


#: ``key=value`` variant parts: the short key -> (``ModelConfig`` or ``TrainConfig``
#: field, parser). Sizes are ``x``-joined: ``hidden=256x128``.
SETTINGS = {
    "lr": ("train", "lr", float), "wd": ("train", "weight_decay", float),
    "batch": ("train", "batch_size", int), "patience": ("train", "patience", int),
    "epochs": ("train", "epochs", int), "evals": ("train", "evals_per_epoch", int),
    "emb": ("model", "emb_dim", int), "dropout": ("model", "dropout", float),
    "cross": ("model", "cross_layers", int),
    "proj": ("model", "input_proj", int),
    "hidden": ("model", "hidden", lambda v: tuple(int(s) for s in v.split("x"))),
    "tower": ("model", "tower", lambda v: tuple(int(s) for s in v.split("x"))),
}


def variant_config(variant: str) -> tuple[ModelConfig, dict]:
    """``"dcn+periodic+lr=1e-3"`` -> ``(ModelConfig(interaction="dcn", num_embedding="periodic"),
    {"lr": 0.001})``: the model and the ``TrainConfig`` fields the variant changes."""
    fields, train = {"interaction": "none", "num_embedding": "none"}, {}
    for part in variant.split("+"):
        key, _, value = part.partition("=")
        if value and key in SETTINGS:
            where, name, parse = SETTINGS[key]
            (fields if where == "model" else train)[name] = parse(value)
        elif part in NUM_EMBEDDINGS and part != "none":
            fields["num_embedding"] = part
        elif part in INTERACTIONS:
            fields["interaction"] = part
        else:
            raise SystemExit(f"error: unknown variant part '{part}'; use {', '.join({*INTERACTIONS, *NUM_EMBEDDINGS})}"
                             f" or key=value with key one of {', '.join(SETTINGS)}")
    return replace(ModelConfig(), **fields), train


def mean_spread(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="simulated,kuairand,census")
    ap.add_argument("--archs", default="single,shared_bottom,mmoe,ple")
    ap.add_argument("--variants", default="none", help="comma-separated model options, e.g. none,fm,dcn,periodic")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=1, help="number of seeds: --first-seed, --first-seed + 1, ...")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--no-peer", action="store_true", help="skip the peer (e.g. when another run measured it)")
    ap.add_argument("--json", help="write every number (per seed) to this file")
    args = ap.parse_args()
    variants = {v: variant_config(v) for v in args.variants.split(",")}

    out = []
    for key in args.datasets.split(","):
        sample = SAMPLES[key]
        data = load_sample(key)
        rows: dict[str, dict[str, list[float]]] = {}
        seconds: dict[str, list[float]] = {}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            split = replace(sample.split, seed=seed)
            prepared = prepare(data, list(sample.tasks), split, seed=seed)
            names = prepared.task_names
            if seed == args.first_seed:
                print(f"\n== {sample.title}: {len(prepared.train):,} train / {len(prepared.valid):,} valid / "
                      f"{len(prepared.test):,} test rows, {split.method} split; test AUC, {args.seeds} seed(s) ==",
                      flush=True)
            record = {"dataset": key, "seed": seed, "model": "", "auc": {}, "seconds": 0.0}
            if data.schema.oracle:
                test_rows = data.frame.iloc[prepared.test.rows]
                bayes = {n: bayes_auc(test_rows, n) for n in names if f"true_{n}" in data.schema.oracle}
                out.append({**record, "model": "bayes", "auc": bayes})
                for n, v in bayes.items():
                    rows.setdefault("Bayes-optimal (true probabilities)", {}).setdefault(n, []).append(v)
            peer, peer_s = ({n: float("nan") for n in names}, 0.0) if args.no_peer else run_peer(prepared, seed)
            out.append({**record, "model": "peer", "auc": peer, "seconds": peer_s})
            for n, v in peer.items():
                rows.setdefault("HistGradientBoosting (peer)", {}).setdefault(n, []).append(v)
            seconds.setdefault("HistGradientBoosting (peer)", []).append(peer_s)
            print(f"  seed {seed} {'peer':<32}" + "".join(f"{peer[n]:>10.4f}" for n in names) + f"{peer_s:>8.1f}s",
                  flush=True)
            save(args.json, out)
            for arch in filter(None, args.archs.split(",")):
                for variant, (model, train) in variants.items():
                    cfg = TrainConfig(tasks=names, arch=arch, seed=seed, split=split, device="cpu", model=model,
                                      **{"epochs": args.epochs, **train})
                    result = Trainer(prepared, cfg).fit()
                    label = f"{arch} [{variant}]"
                    aucs = {n: result.test[n]["auc"] for n in names}
                    out.append({**record, "model": label, "arch": arch, "variant": variant, "auc": aucs,
                                "seconds": result.train_seconds, "epochs": result.epochs_run, "best_epoch": result.best_epoch,
                                "load": os.getloadavg()[0]})
                    for n, v in aucs.items():
                        rows.setdefault(label, {}).setdefault(n, []).append(v)
                    seconds.setdefault(label, []).append(result.train_seconds)
                    save(args.json, out)
                    print(f"  seed {seed} {label:<32}" + "".join(f"{aucs[n]:>10.4f}" for n in names)
                          + f"{result.train_seconds:>8.1f}s  best epoch {result.best_epoch} of {result.epochs_run}",
                          flush=True)
        peer_rows = rows["HistGradientBoosting (peer)"]
        bayes_rows = rows.get("Bayes-optimal (true probabilities)", {})
        print(f"\n{'model':<36}" + "".join(f"{n:>34}" for n in names) + f"{'seconds':>10}")
        for label, per_task in rows.items():
            cells = []
            for n in names:
                if n not in per_task:
                    cells.append(f"{'':>34}")
                    continue
                gap = np.mean(per_task[n]) - np.mean(peer_rows[n])
                to_bayes = f" {np.mean(per_task[n]) - np.mean(bayes_rows[n]):+.3f}B" if n in bayes_rows else ""
                cells.append(f"{mean_spread(per_task[n]) + f' ({gap:+.4f}){to_bayes}':>34}")
            secs = f"{np.mean(seconds[label]):>10.1f}" if label in seconds else f"{'':>10}"
            print(f"{label:<36}" + "".join(cells) + secs)
    print("\n(mean ± standard deviation over seeds; in brackets: difference to the peer, positive = ours is better;"
          " B: difference to the Bayes-optimal AUC)")


def save(path: str | None, records: list[dict]) -> None:
    """Every number so far (a long run that is stopped keeps what it measured)."""
    if path:
        with open(path, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
