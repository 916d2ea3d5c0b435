"""Do title text features help on items never seen in training? (goodbooks-10k sample)

Books are split by item: 80% of the books (all their ratings) train, 10% validate, 10%
test, so every validation and test rating is of a book the model never saw (its id
embedding is the out-of-vocabulary one). Users are shared across parts, as in a
catalogue that gains new books. Four inputs, each trained over seeds with the same
network (shared-bottom, tasks ``rating`` and ``liked``):

* ``ids``: user and book ids only (a cold book is then known by nothing);
* ``ids + title``: plus 16 TF-IDF + SVD components of the title (:mod:`mtl.data.text`);
* ``metadata``: ids and the book table (authors, year, language, Goodreads average
  rating and rating count), the sample's default;
* ``metadata + title``: all of it.

Run: ``.venv/bin/python benchmarks/cold_start_text.py [--seeds 3] [--epochs 4] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl.data import InteractionData, Schema, SplitSpec
from mtl.data.samples import load_sample
from mtl.data.text import add_text_features
from mtl.models import ModelConfig
from mtl.train import TrainConfig, train

FOLD = "_item_fold"
METADATA = ["authors", "original_publication_year", "language_code", "average_rating", "ratings_count"]


def item_split_data(data: InteractionData, seed: int) -> InteractionData:
    """``data`` with a hidden per-book fold (0-99, shuffled by ``seed``) to split on."""
    items = data.frame[data.schema.item]
    uniques = items.unique()
    rank = np.random.default_rng(seed).permutation(len(uniques))
    fold = dict(zip(uniques, (rank * 100 // len(uniques)).astype(int)))
    frame = data.frame.assign(**{FOLD: items.map(fold).to_numpy()})
    schema = Schema.from_dict(data.schema.to_dict())
    schema.ignored.append(FOLD)
    schema.notes[FOLD] = "ignored: the benchmark's item fold"
    return InteractionData(frame, schema, data.name, data.user_table, data.item_table)


def without(data: InteractionData, columns: list[str]) -> InteractionData:
    schema = Schema.from_dict(data.schema.to_dict())
    for col in columns:
        for group in (schema.categorical, schema.numeric):
            if col in group:
                group.remove(col)
        schema.ignored.append(col)
    return InteractionData(data.frame, schema, data.name, data.user_table, data.item_table)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--components", type=int, default=16)
    ap.add_argument("--json")
    args = ap.parse_args()
    base = load_sample("goodbooks")
    rows = []
    for seed in range(args.seeds):
        data = item_split_data(base, seed)
        text = add_text_features(data, "title", args.components, seed=seed)
        variants = {"ids": without(data, METADATA), "ids + title": without(text, METADATA),
                    "metadata": data, "metadata + title": text}
        split = SplitSpec("time", cutoffs=(79, 89), column=FOLD, seed=seed)
        for name, d in variants.items():
            cfg = TrainConfig(tasks=["rating", "liked"], epochs=args.epochs, seed=seed, split=split, device="cpu",
                              batch_size=2048, model=ModelConfig())
            t0 = time.perf_counter()
            res = train(d, cfg)
            row = {"variant": name, "seed": seed, "rating_rmse": res.test["rating"]["rmse"],
                   "liked_auc": res.test["liked"]["auc"], "test_rows": res.test["liked"]["n"],
                   "seconds": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'variant':<18} {'rating RMSE':>18} {'liked AUC':>18}  (test: books unseen in training; mean ± std "
          f"over {args.seeds} seeds)")
    for name in ("ids", "ids + title", "metadata", "metadata + title"):
        r = [x for x in rows if x["variant"] == name]
        rm, au = np.array([x["rating_rmse"] for x in r]), np.array([x["liked_auc"] for x in r])
        print(f"{name:<18} {rm.mean():>10.4f} ± {rm.std():.4f} {au.mean():>10.4f} ± {au.std():.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
