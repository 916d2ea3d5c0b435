""""Download report" (one self-contained HTML file, :mod:`mtl.report_html`) and
"Download model" (a zip, :func:`mtl.export.zip_model`) for a result on the Train,
Compare and Trade-offs pages.

A report is several megabytes (plotly.js is embedded so it opens offline) and takes a
moment to build, so nothing is built while a page draws: the buttons hand Streamlit a
callable that runs when the user clicks, and the bytes are cached per result (``uid``:
an id unique across sessions, since ``st.cache_data`` is shared by every session).
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from mtl.export import zip_model
from mtl.report_html import report_html
from mtl.store import describe_data
from pages._datasets import Dataset


def new_uid() -> str:
    return uuid.uuid4().hex


def data_description(ds: Dataset, prepared=None) -> dict:
    """What a report says about the data: the split's sizes when the prepared data is at
    hand, else the table's size, roles and labels (never the rows)."""
    if prepared is not None:
        return describe_data(prepared)
    data = ds.data
    return {"name": data.name, "rows": int(data.n_rows), "columns": len(data.frame.columns),
            "roles": json.loads(data.schema.table().to_json(orient="records")),
            "labels": json.loads(data.label_summary().to_json(orient="records"))}


@st.cache_data(max_entries=6, show_spinner=False)
def report_bytes(uid: str, _result, _dataset: Callable[[], dict], _config=None, _title: str | None = None) -> bytes:
    """The HTML report of ``_result`` (built once per ``uid``)."""
    return report_html(_result, dataset=_dataset(), config=_config, title=_title).encode("utf-8")


@st.cache_data(max_entries=6, show_spinner=False)
def model_zip_bytes(uid: str, _trained) -> bytes:
    """A zip of the trained model ``_trained`` (built once per ``uid``), as "Download
    model" gives it and the Data page opens it."""
    with tempfile.TemporaryDirectory(prefix="mtl-zip-") as tmp:
        folder = Path(tmp) / "model"
        _trained.save(folder)
        return zip_model(folder)


def _stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:60] or "run"


def download_buttons(uid: str, result, *, dataset: Callable[[], dict], stem: str, key: str, config=None,
                     trained=None, title: str | None = None) -> None:
    """"Download report" and, when there is a ``trained`` model, "Download model", side
    by side; ``dataset`` gives the report's data description (called on click)."""
    def report() -> bytes:
        return report_bytes(uid, result, dataset, config, title)

    def model() -> bytes:
        return model_zip_bytes(uid, trained)

    stem = _stem(stem)
    c1, c2 = st.columns(2)
    c1.download_button("Download report", report, f"{stem}_report.html", "text/html", key=f"{key}.report",
                       icon=":material/description:", on_click="ignore",
                       help="One HTML file that opens offline: interactive charts, tables, the full configuration, "
                            "the data's roles, seeds and package versions, and the findings")
    if trained is not None:
        c2.download_button("Download model", model, f"{stem}_model.zip", "application/zip", key=f"{key}.model",
                           icon=":material/deployed_code:", on_click="ignore",
                           help="The trained model as a zip: open it on the Data page, or use it with "
                                "python -m mtl recommend --model")
