"""The session's active dataset: a bundled sample or uploaded tables, and how to
rebuild it with other column roles.

``st.cache_resource`` holds only immutable shared things: the raw tables of the bundled
samples and the datasets built from them, which no page mutates; ``st.cache_data``
holds per-dataset statistics keyed by the dataset's content token.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from mtl.data import InteractionData, RoleOverrides, from_frame, read_table
from mtl.data.dataset import check_usable
from mtl.data.samples import SAMPLES, Sample, get_sample
from mtl.data.suggest import TaskSuggestion, suggest_tasks, suggested_tasks
from mtl.errors import DataError

DEFAULT_SAMPLE = "simulated"
DATASET = "dataset"


@dataclass(frozen=True)
class Dataset:
    """The session's active dataset and how to rebuild it with other column roles."""

    data: InteractionData = field(repr=False)
    #: Identifies source and roles: equal tokens mean the same data.
    token: str
    #: Identifies the files or tables the data came from (without roles).
    source_id: str
    frame: pd.DataFrame = field(repr=False)          # the interaction table as read (before joins)
    user_table: pd.DataFrame | None = field(default=None, repr=False)
    item_table: pd.DataFrame | None = field(default=None, repr=False)
    overrides: RoleOverrides = field(default_factory=RoleOverrides)
    sample: Sample | None = None
    files: tuple[str, ...] = ()          # uploaded file names

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def short(self) -> str:
        """A short key for widget names that belong to this dataset."""
        return self.token[:10]

    @property
    def source(self) -> str:
        if self.sample is not None:
            return f"bundled sample ({self.sample.license})"
        return "uploaded: " + ", ".join(self.files)


def dataset_token(source: str, overrides: RoleOverrides) -> str:
    roles = json.dumps(overrides.to_dict(), sort_keys=True)
    return hashlib.sha1(f"{source}|{roles}".encode()).hexdigest()


@st.cache_resource(show_spinner=False, max_entries=4)
def _sample_tables(key: str) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    s = get_sample(key)
    path = s.path(s.file)
    if not path.exists():
        raise DataError(f"Bundled sample '{key}' is missing at {path}; is sample_data/ present?")
    side = [read_table(s.path(n), max_bytes=None) if n else None for n in (s.user_features, s.item_features)]
    return read_table(path, max_bytes=None), side[0], side[1]


@st.cache_resource(show_spinner=False, max_entries=8)
def _sample_data(key: str, roles_json: str) -> InteractionData:
    frame, users, items = _sample_tables(key)
    return from_frame(frame, user_table=users, item_table=items, roles=json.loads(roles_json), name=get_sample(key).title)


def sample_dataset(key: str, overrides: RoleOverrides | None = None) -> Dataset:
    """A bundled sample with its curated roles (plus ``overrides``), shared read-only
    between sessions. The same tables and roles as :func:`mtl.data.samples.load_sample`."""
    s = get_sample(key)
    ov = overrides or RoleOverrides.from_dict(s.roles)
    frame, users, items = _sample_tables(key)
    data = _sample_data(key, json.dumps(ov.to_dict(), sort_keys=True))
    source_id = f"sample:{key}"
    return Dataset(data, dataset_token(source_id, ov), source_id, frame, users, items, ov, sample=s)


def dataset_from_frames(frame: pd.DataFrame, name: str, user_table: pd.DataFrame | None = None,
                        item_table: pd.DataFrame | None = None, overrides: RoleOverrides | None = None,
                        source_id: str | None = None, files: tuple[str, ...] = ()) -> Dataset:
    """A dataset from in-memory tables (uploads, tests). Raises :class:`MTLError`."""
    ov = overrides or RoleOverrides()
    data = from_frame(frame, user_table=user_table, item_table=item_table, roles=ov, name=name)
    if source_id is None:
        digest = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        source_id = f"frame:{name}:{digest.hexdigest()}"
    return Dataset(data, dataset_token(source_id, ov), source_id, frame, user_table, item_table, ov, files=files)


def dataset_from_upload(main: tuple[str, bytes], users: tuple[str, bytes] | None = None,
                        items: tuple[str, bytes] | None = None) -> Dataset:
    """Read uploaded ``(file name, bytes)`` (CSV, CSV.gz or Parquet; the upload limit
    is enforced by the uploader) and build a dataset. Raises :class:`MTLError` with a
    message naming the file or column at fault."""
    digest = hashlib.sha1()
    tables = []
    for upload in (main, users, items):
        if upload is None:
            tables.append(None)
            continue
        name, content = upload
        digest.update(name.encode() + b"\0" + content)
        tables.append(read_table(content, name=name, max_bytes=None))
    files = tuple(u[0] for u in (main, users, items) if u is not None)
    ds = dataset_from_frames(tables[0], main[0], tables[1], tables[2], source_id=f"upload:{digest.hexdigest()}",
                             files=files)
    check_usable(ds.data)  # the check the CLI's load makes: a file is accepted or refused the same way in both
    return ds


def active_dataset() -> Dataset:
    """The session's dataset; the bundled simulated sample until the user picks another."""
    if DATASET not in st.session_state:
        with st.spinner(f"Loading the bundled sample ({get_sample(DEFAULT_SAMPLE).title}) ..."):
            st.session_state[DATASET] = sample_dataset(DEFAULT_SAMPLE)
    return st.session_state[DATASET]


@st.cache_data(show_spinner=False, max_entries=16)
def label_summary(token: str, _data: InteractionData) -> pd.DataFrame:
    """``_data.label_summary()``, computed once per dataset (``token`` identifies it)."""
    return _data.label_summary()


@st.cache_data(show_spinner=False, max_entries=16)
def id_counts(token: str, _data: InteractionData) -> tuple[int | None, int | None]:
    """Distinct users and items of a dataset (``None`` without that id column)."""
    s, frame = _data.schema, _data.frame
    return (int(frame[s.user].nunique()) if s.user else None, int(frame[s.item].nunique()) if s.item else None)


def set_active_dataset(ds: Dataset) -> None:
    st.session_state[DATASET] = ds


@st.cache_data(show_spinner=False, max_entries=16)
def task_suggestion(token: str, _data: InteractionData) -> TaskSuggestion:
    """:func:`mtl.data.suggest.suggest_tasks` of a dataset, once per dataset."""
    return suggest_tasks(_data)


def default_tasks(ds: Dataset) -> list[str]:
    """A sample's curated tasks; otherwise (or once the user derived labels) the
    suggested ones: usable positive rates, an engagement and value mix."""
    return suggested_tasks(ds.data, ds.sample, task_suggestion(ds.token, ds.data))


def sample_choices() -> dict[str, Sample]:
    return dict(SAMPLES)
