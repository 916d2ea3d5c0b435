"""Quality against a strong tabular peer, on the same splits.

For each bundled real dataset we train our architectures and, per task, the peer:
scikit-learn ``HistGradientBoostingClassifier`` on the same rows and the same
features, with user / item ids target-encoded (scikit-learn ``TargetEncoder``,
cross-fitted on the training rows; these are the per-id statistics of
``mtl.data.prepare``) and low-cardinality categorical columns as native categories.
Both are early-stopped (ours on the validation split, the peer on an internal 10%
of train) and scored on the same held-out test rows.

* KuaiRand: time split (train <= 20220505, valid 20220506, test >= 20220507).
* Census-Income: random 80/10/10.

Run: ``.venv/bin/python benchmarks/quality.py [--datasets kuairand,census] [--archs ...]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from mtl.data import prepare
from mtl.data.samples import SAMPLES, load_sample
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
    x_tr, cat = peer_features(prepared, prepared.train)
    x_te, _ = peer_features(prepared, prepared.test)
    aucs, start = {}, time.perf_counter()
    for j, task in enumerate(prepared.tasks):
        y_tr, y_te = prepared.train.y[:, j].numpy(), prepared.test.y[:, j].numpy()
        has_tr, has_te = ~np.isnan(y_tr), ~np.isnan(y_te)
        clf = HistGradientBoostingClassifier(
            max_iter=500, learning_rate=0.1, categorical_features=cat, early_stopping=True,
            validation_fraction=0.1, n_iter_no_change=20, random_state=seed,
        )
        clf.fit(x_tr[has_tr], y_tr[has_tr].astype(int))
        aucs[task.name] = roc_auc_score(y_te[has_te].astype(int), clf.predict_proba(x_te[has_te])[:, 1])
    return aucs, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="kuairand,census")
    ap.add_argument("--archs", default="single,shared_bottom,mmoe,ple")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    for key in args.datasets.split(","):
        sample = SAMPLES[key]
        data = load_sample(key)
        split = sample.split.__class__(**{**sample.split.__dict__, "seed": args.seed})
        prepared = prepare(data, list(sample.tasks), split, seed=args.seed)
        names = prepared.task_names
        print(f"\n== {sample.title}: {len(prepared.train):,} train / {len(prepared.valid):,} valid / "
              f"{len(prepared.test):,} test rows, {split.method} split; test AUC ==")
        print(f"{'model':<32}" + "".join(f"{n:>24}" for n in names) + f"{'seconds':>10}")
        peer, peer_s = run_peer(prepared, args.seed)
        print(f"{'HistGradientBoosting (peer)':<32}" + "".join(f"{peer[n]:>24.4f}" for n in names) + f"{peer_s:>10.1f}")
        for arch in args.archs.split(","):
            cfg = TrainConfig(tasks=names, arch=arch, epochs=args.epochs, seed=args.seed, split=split, device="cpu")
            result = Trainer(prepared, cfg).fit()
            cells = "".join(
                f"{result.test[n]['auc']:>15.4f} ({result.test[n]['auc'] - peer[n]:+.4f})" for n in names
            )
            print(f"{arch:<32}{cells}{result.train_seconds:>10.1f}")
    print("\n(in brackets: difference to the peer; positive = ours is better)")


if __name__ == "__main__":
    main()
