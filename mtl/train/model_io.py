"""A trained model with everything needed to use it later, and safe save / load.

A saved model is a folder:

* ``model.safetensors``: the weights (safetensors: loading runs no pickled code);
* ``model.json``: architecture, sizes, tasks, training config, schema and metrics;
* ``encoder.json``: vocabularies, scalers and per-id statistics;
* ``items.parquet`` / ``users.parquet`` / ``interactions.parquet`` (when the data has
  ids): the item catalogue, per-user features and the interaction history, so
  recommendations work without the original files;
* ``test_rows.parquet``: the held-out test rows (features, labels and any simulator
  ground truth), so trade-off curves can be computed from the saved model alone.

Loading reads only regular files of bounded size inside the folder and checks the
description against itself and the weights before building anything
(:mod:`.model_files`, :mod:`.model_check`); predictions that are not finite raise
instead of ranking silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file

from ..data.dataset import PreparedData
from ..data.encode import FeatureEncoder
from ..data.schema import Schema
from ..errors import ConfigError, DataError, ModelFileError
from ..models import MultiTaskModel, build_model
from ..tasks import TaskSpec, predict
from .config import TrainConfig
from .model_check import check_consistent, check_description, check_encoder, check_finite, check_shapes, expected_shapes
from .model_files import MAX_BYTES, read_file, read_json, read_table, safetensors_shapes

FORMAT_VERSION = 1
PREDICT_BATCH = 16384


@dataclass
class TrainedModel:
    model: MultiTaskModel
    encoder: FeatureEncoder
    tasks: list[TaskSpec]
    config: TrainConfig
    schema: Schema
    metrics: dict
    data_name: str = "data"
    items: pd.DataFrame | None = None
    users: pd.DataFrame | None = None
    interactions: pd.DataFrame | None = None
    test_rows: pd.DataFrame | None = None

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    # -------------------------------------------------------------- building
    @classmethod
    def from_training(cls, model: MultiTaskModel, data: PreparedData, config: TrainConfig, result) -> TrainedModel:
        schema, enc, frame = data.data.schema, data.encoder, data.data.frame
        items = users = interactions = None
        if schema.item:
            cols = [schema.item] + [c for c in enc.level if enc.level[c] == "item" and c in frame and c != schema.item]
            cols += [c for c in schema.text if c not in cols]
            items = frame[cols].drop_duplicates(subset=[schema.item], keep="last").reset_index(drop=True)
        if schema.user:
            cols = [schema.user] + [c for c in enc.level if enc.level[c] == "user" and c in frame and c != schema.user]
            users = frame[cols].drop_duplicates(subset=[schema.user], keep="last").reset_index(drop=True)
            keep = [c for c in (schema.user, schema.item, schema.time) if c] + list(schema.labels)
            interactions = frame[keep].copy()
            split = np.full(len(frame), "train", dtype=object)
            split[data.valid.rows] = "valid"
            split[data.test.rows] = "test"
            interactions["split"] = split
        keep = [c for c in (schema.user, schema.item, schema.time) if c]
        keep += [c for c in enc.categorical + enc.numeric + list(schema.labels) + schema.oracle + schema.text
                 if c not in keep]
        test_rows = frame.iloc[data.test.rows][keep].reset_index(drop=True)
        return cls(model.eval(), enc, list(data.tasks), config, schema,
                   {"test": result.test, "valid": result.valid, "train_seconds": result.train_seconds,
                    "params": result.params},
                   data.data.name, items, users, interactions, test_rows)

    def with_derived_labels(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw rows with the derived labels this model was trained on (``liked`` from
        ``rating >= 4`` ...), computed exactly as in training; columns already there
        are kept as they are."""
        from ..data.derive import apply_derived

        todo = [e for e in self.config.derive if e.split("=", 1)[0].strip() not in frame.columns]
        return apply_derived(frame, todo)

    # ------------------------------------------------------------ prediction
    @torch.no_grad()
    def predict_arrays(self, frame: pd.DataFrame, pref=None) -> list[np.ndarray]:
        """Per-task predictions for the rows of ``frame`` (label scale; class
        probabilities [N, K] for multiclass). Missing feature columns are an error.
        ``pref`` (preference-conditioned models only) are the task weights to predict
        with; by default the weights the model was trained for."""
        missing = [c for c in self.encoder.categorical + self.encoder.numeric if c not in frame.columns]
        if missing:
            raise DataError(f"The rows to score lack feature column(s): {', '.join(missing[:5])}", column=missing[0])
        x_cat, x_num = self.encoder.transform(frame)
        self.model.eval()
        device = next(self.model.parameters()).device
        if pref is not None:
            if not self.model.config.conditioned:
                raise ConfigError("Only a preference-conditioned model can predict for other task weights")
            pref = torch.as_tensor([float(v) for v in pref], dtype=torch.float32)
            if len(pref) != len(self.tasks) or (pref < 0).any() or pref.sum() <= 0:
                raise ConfigError(f"Give {len(self.tasks)} non-negative task weights with a positive sum")
            pref = (pref / pref.sum()).to(device)
        outs: list[list[torch.Tensor]] = [[] for _ in self.tasks]
        for a in range(0, len(frame), PREDICT_BATCH):
            res = self.model(torch.from_numpy(x_cat[a : a + PREDICT_BATCH]).to(device),
                             torch.from_numpy(x_num[a : a + PREDICT_BATCH]).to(device), pref).outputs
            for j, (o, t) in enumerate(zip(res, self.tasks)):
                outs[j].append(predict(t, o).float().cpu())
        preds = [torch.cat(o).numpy() if o else np.zeros(0) for o in outs]
        self._check_finite(preds)
        return preds

    def _check_finite(self, preds: list[np.ndarray]) -> None:
        """Predictions that are NaN or infinite are an error, never a silent ranking."""
        for t, p in zip(self.tasks, preds):
            bad = ~np.isfinite(p).reshape(len(p), -1).all(axis=1)
            if not bad.any():
                continue
            where = f"The model's {t.name} predictions are not finite (NaN or infinity) for {int(bad.sum()):,} of {len(p):,} rows"
            if not all(bool(torch.isfinite(v).all()) for v in self.model.state_dict().values() if v.is_floating_point()):
                raise ModelFileError(f"{where}: its weights are not finite (a diverged or damaged model); retrain it")
            raise DataError(f"{where}: check those rows' numeric features for extreme values")

    def predict(self, frame: pd.DataFrame, pref=None) -> pd.DataFrame:
        """A table of predictions: one column per task (probability for binary, value
        for regression, most likely class for multiclass)."""
        preds = self.predict_arrays(frame, pref)
        cols = {}
        for t, p in zip(self.tasks, preds):
            cols[t.name] = np.asarray(t.classes, dtype=object)[p.argmax(1)] if t.kind == "multiclass" else p
        return pd.DataFrame(cols, index=frame.index)

    # ---------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, str(path / "model.safetensors"))
        meta = {
            "format_version": FORMAT_VERSION,
            "arch": self.config.arch,
            "model_config": self.model.config.to_dict(),
            "cardinalities": self.model.cardinalities,
            "num_dim": self.model.num_dim,
            "tasks": [t.to_dict() for t in self.tasks],
            "train_config": self.config.to_dict(),
            "schema": self.schema.to_dict(),
            "metrics": self.metrics,
            "data_name": self.data_name,
        }
        (path / "model.json").write_text(json.dumps(meta, indent=2, default=_json_default))
        (path / "encoder.json").write_text(json.dumps(self.encoder.to_dict(), default=_json_default))
        for name in ("items", "users", "interactions", "test_rows"):
            table = getattr(self, name)
            target = path / f"{name}.parquet"
            if table is not None:
                table.to_parquet(target, index=False)
            elif target.exists():
                target.unlink()
        return path

    @classmethod
    def load(cls, directory: str | Path) -> TrainedModel:
        """Load a folder written by :meth:`save`. Nothing in it is executed, and nothing is
        allocated before the description has been checked against itself and the weights'
        header (:mod:`.model_files`, :mod:`.model_check`); any problem is a
        :class:`ModelFileError` naming the file."""
        path = Path(directory)
        if not path.is_dir():
            raise ModelFileError(f"No saved model folder at {path}")
        for required in ("model.json", "encoder.json", "model.safetensors"):
            if not (path / required).exists() and not (path / required).is_symlink():
                raise ModelFileError(f"{path} is not a saved model: {required} is missing")
        meta = read_json(path, "model.json")
        if not isinstance(meta, dict):
            raise ModelFileError(f"{path}: model.json is damaged or was edited: it is not a model description")
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelFileError(
                f"{path} was saved in format {str(version)[:20]}; this version reads format {FORMAT_VERSION}"
            )
        arch, tasks, model_config, cards, num_dim, config, schema = check_description(meta, path)
        encoder = check_encoder(read_json(path, "encoder.json"), path)
        check_consistent(encoder, cards, num_dim, path)
        weights = read_file(path, "model.safetensors", MAX_BYTES["model.safetensors"])
        check_shapes(expected_shapes(arch, cards, num_dim, tasks, model_config), safetensors_shapes(weights, path), path)
        try:
            state = load_safetensors(weights)
        except (RuntimeError, OSError, ValueError, SafetensorError) as err:
            raise ModelFileError(f"{path}: the weights are damaged ({str(err)[:200]})") from None
        del weights
        check_finite(state, path)
        model = build_model(arch, cards, num_dim, tasks, model_config)
        try:
            model.load_state_dict(state)
        except (RuntimeError, ValueError) as err:  # pragma: no cover - the shapes were checked above
            raise ModelFileError(f"{path}: the weights do not match the model description ({str(err)[:200]})") from None
        tables = {n: read_table(path, f"{n}.parquet") if _present(path / f"{n}.parquet") else None
                  for n in ("items", "users", "interactions", "test_rows")}
        _check_tables(tables, schema, path)
        metrics = meta.get("metrics", {})
        data_name = meta.get("data_name", "data")
        return cls(model.eval(), encoder, tasks, config, schema, metrics if isinstance(metrics, dict) else {},
                   data_name if isinstance(data_name, str) else "data", **tables)


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()  # a broken link is reported, not skipped


def _check_tables(tables: dict, schema: Schema, path: Path) -> None:
    """The id columns recommendations join on are in the tables that need them."""
    needs = {"items": [schema.item], "users": [schema.user], "interactions": [schema.user, schema.item]}
    for name, columns in needs.items():
        table = tables[name]
        for col in columns:
            if table is not None and col is not None and col not in table.columns:
                raise ModelFileError(f"{path}: {name}.parquet lacks the id column '{col}' that model.json names; "
                                     "the files do not belong together or were edited")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
