"""The Train page's setup in the address bar: its settings (:class:`TrainSettings`) and
the bundled sample are mirrored in ``st.query_params``, so copying the address
reproduces the setup in a fresh browser. A fresh session reads them back once; a
parameter that is unknown, malformed or out of range is ignored (its default applies)
with a note naming it, never an exception. Uploaded data cannot travel in a link: the
address then says ``data=upload`` and a fresh session says so.
"""

from __future__ import annotations

import dataclasses
import math

import streamlit as st

from mtl.data import SPLITS
from mtl.data.samples import SAMPLES
from mtl.errors import MTLError
from mtl.models import available_interactions, available_models, available_num_embeddings
from mtl.train import available_devices
from mtl.weighting import available_weightings
from pages._common import parse_sizes, time_columns
from pages._datasets import Dataset, active_dataset, sample_dataset, set_active_dataset
from pages._settings import TrainSettings

#: Session flag: the address was read once for this session (later runs only write it).
READ = "url.train.read"
UPLOAD = "upload"
#: The numeric settings' ranges: the same bounds as the Train page's inputs.
RANGES = {"epochs": (1, 500), "batch": (16, 65536), "lr": (1e-5, 1.0), "patience": (1, 50), "emb": (1, 512),
          "experts": (1, 64), "seed": (0, 2**31 - 1)}
FIELDS = {f.name for f in dataclasses.fields(TrainSettings)}


def _problem(name: str, value, ds: Dataset) -> str:
    """Why ``value`` cannot be setting ``name`` on ``ds`` ('' when it can)."""
    labels = ds.data.schema.labels
    if name == "tasks":
        if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
            return "not a list of task names"
        unknown = [t for t in value if t not in labels]
        return f"no label column {', '.join(map(repr, unknown))} in {ds.name}" if unknown else ""
    if name == "preference":
        if not isinstance(value, dict):
            return "not a mapping of task weights"
        for task, weight in value.items():
            if task not in labels:
                return f"no label column {task!r} in {ds.name}"
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not 0 <= weight <= 5:
                return f"the weight of {task} must be a number from 0 to 5"
        return ""
    choices = {"arch": available_models, "weighting": available_weightings, "split": lambda: SPLITS,
               "device": available_devices, "split_column": lambda: time_columns(ds),
               "interaction": available_interactions, "num_emb": available_num_embeddings}
    if name in choices:
        return "" if value in choices[name]() else f"{value!r} is not one of the choices"
    if name in RANGES:
        low, high = RANGES[name]
        ok = isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high
        return "" if ok else f"{value!r} is outside {low:g} to {high:g}"
    if name == "hidden":
        try:
            parse_sizes(value)
        except MTLError as err:
            return str(err)
    return ""


def restore_train() -> list[str]:
    """On a session's first visit to the Train page, take its settings (and the bundled
    sample) from the address; returns notes on what was ignored (empty otherwise)."""
    if st.session_state.get(READ):
        return []
    st.session_state[READ] = True
    params = {k: st.query_params.get(k) for k in st.query_params}
    if not params:
        return []
    ignored = []
    data = params.pop("data", None)
    if data == UPLOAD:
        ignored.append("data: the link was made on uploaded data, which cannot travel in a link; upload it again "
                       "on the Data page (the settings below were applied to the bundled sample where they fit)")
    elif data in SAMPLES:
        try:
            if active_dataset().source_id != f"sample:{data}":
                set_active_dataset(sample_dataset(data))
        except MTLError as err:
            ignored.append(f"data ({err})")
    elif data is not None:
        ignored.append(f"data (no bundled sample {data!r})")
    ds = active_dataset()
    valid = {}
    for name, text in params.items():
        if name not in FIELDS:
            ignored.append(f"{name} (not a Train setting)")
            continue
        try:
            value = getattr(TrainSettings.from_params({name: text}), name)
        except (ValueError, TypeError):
            ignored.append(f"{name} ({text!r} cannot be read)")
            continue
        if problem := _problem(name, value, ds):
            ignored.append(f"{name} ({problem})")
        else:
            valid[name] = value
    TrainSettings(**valid).apply(ds.short)
    return ignored


def mirror_train(settings: TrainSettings, ds: Dataset) -> None:
    """Write the page's settings into the address (only when they changed)."""
    params = settings.to_params()
    params["data"] = ds.sample.key if ds.sample is not None else UPLOAD
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)
