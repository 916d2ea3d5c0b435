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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..data.dataset import PreparedData
from ..data.encode import FeatureEncoder
from ..data.schema import Schema
from ..errors import ConfigError, DataError, ModelFileError
from ..models import MultiTaskModel, build_model
from ..models.base import ModelConfig
from ..tasks import TaskSpec, predict
from .config import TrainConfig

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
        return [torch.cat(o).numpy() if o else np.zeros(0) for o in outs]

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
        path = Path(directory)
        if not path.is_dir():
            raise ModelFileError(f"No saved model folder at {path}")
        for required in ("model.json", "encoder.json", "model.safetensors"):
            if not (path / required).exists():
                raise ModelFileError(f"{path} is not a saved model: {required} is missing")
        try:
            meta = json.loads((path / "model.json").read_text())
            encoder = FeatureEncoder.from_dict(json.loads((path / "encoder.json").read_text()))
            version = meta.get("format_version")
        except (ValueError, TypeError, KeyError, AttributeError) as err:  # JSONDecodeError is a ValueError
            raise ModelFileError(f"{path} has a damaged model description ({err})") from None
        if version != FORMAT_VERSION:
            raise ModelFileError(
                f"{path} was saved in format {version}; this version reads format {FORMAT_VERSION}"
            )
        try:
            tasks = [TaskSpec.from_dict(t) for t in meta["tasks"]]
            model_config = ModelConfig.from_dict(meta["model_config"])
            config = TrainConfig.from_dict(meta["train_config"])
            schema = Schema.from_dict(meta["schema"])
            cards, num_dim, arch = meta["cardinalities"], meta["num_dim"], meta["arch"]
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise ModelFileError(f"{path} has a damaged model description (missing or invalid {err})") from None
        model = build_model(arch, cards, num_dim, tasks, model_config)
        try:
            model.load_state_dict(load_file(str(path / "model.safetensors")))
        except (RuntimeError, OSError, ValueError, SafetensorError) as err:
            raise ModelFileError(f"{path}: the weights are damaged or do not match the model description "
                                 f"({str(err)[:200]})") from None
        tables = {}
        for n in ("items", "users", "interactions", "test_rows"):
            target = path / f"{n}.parquet"
            try:
                tables[n] = pd.read_parquet(target) if target.exists() else None
            except (OSError, ValueError, pa.ArrowException) as err:
                raise ModelFileError(f"{path}: {target.name} is damaged ({str(err)[:200]})") from None
        return cls(model.eval(), encoder, tasks, config, schema, meta.get("metrics", {}),
                   meta.get("data_name", "data"), **tables)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
