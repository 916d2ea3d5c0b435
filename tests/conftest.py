"""Shared fixtures for the test suite.

* ``tiny_feed``: a small simulated feed log (4,000 impressions), built once per session.
  Tests must not mutate it: take ``tiny_feed.copy()`` before changing anything.
* ``tiny_data``: ``mtl.data.from_frame(tiny_feed)``, also shared and read-only.
* ``write_table``: writes a DataFrame to a file under the test's ``tmp_path`` in the
  format given by the file name (``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest


def pytest_configure(config):
    # The app keeps every training in the workspace ($MTL_WORKSPACE, else ./mtl-workspace):
    # never let the suite write one into the repository (servers started by browser tests
    # inherit this; each test gets its own below).
    os.environ["MTL_WORKSPACE"] = config._mtl_workspace = tempfile.mkdtemp(prefix="mtl-test-workspace-")


def pytest_unconfigure(config):
    if getattr(config, "_mtl_workspace", None):
        shutil.rmtree(config._mtl_workspace, ignore_errors=True)
    # Under xdist each worker is a process; with two workers on two cores, two torch
    # threads per worker oversubscribe the CPU (a tiny matmul measured ~90x slower).
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _own_workspace(tmp_path_factory, monkeypatch):
    """A fresh, empty workspace per test: runs one test keeps never show up in another."""
    monkeypatch.setenv("MTL_WORKSPACE", str(tmp_path_factory.mktemp("workspace")))


@pytest.fixture(scope="session")
def tiny_feed() -> pd.DataFrame:
    from mtl.data.synthetic import simulate

    return simulate(n_users=120, n_items=200, n_impressions=4000, seed=1)


@pytest.fixture(scope="session")
def tiny_data(tiny_feed):
    from mtl.data import from_frame

    return from_frame(tiny_feed, name="tiny feed")


@pytest.fixture
def write_table(tmp_path):
    """``write_table(df, "name.csv.gz", **to_csv_kwargs) -> Path``."""

    def write(df: pd.DataFrame, name: str, **kwargs) -> Path:
        path = tmp_path / name
        lower = name.lower()
        if lower.endswith((".parquet", ".pq")):
            df.to_parquet(path, index=False, **kwargs)
        else:
            if lower.endswith((".tsv", ".tsv.gz")):
                kwargs.setdefault("sep", "\t")
            df.to_csv(path, index=False, **kwargs)  # compression inferred from ".gz"
        return path

    return write


@pytest.fixture
def app(monkeypatch):
    """A fresh Streamlit ``AppTest`` of app.py (one browser session), not yet run."""
    from tests._apptest import new_app

    return new_app(monkeypatch)
