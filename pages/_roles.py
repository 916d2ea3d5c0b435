"""Column roles as a user edits them on the Data page, and derived labels."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from mtl.data import RoleOverrides, from_frame
from mtl.data.derive import parse_derived
from mtl.errors import ConfigError
from mtl.setup import check_labels, overrides_from_edits
from pages._datasets import Dataset, dataset_token, sample_dataset


def apply_roles(ds: Dataset, edited: pd.DataFrame) -> Dataset:
    """``ds`` rebuilt with the roles of an edited :func:`mtl.setup.roles_table`; ``ds`` itself is
    untouched, so a failure (:class:`MTLError`) leaves the session's data usable."""
    ov = overrides_from_edits(ds.data.schema, ds.overrides, edited)
    if ov == ds.overrides:
        return ds
    check_labels(ds.data.frame, ov.labels)
    return with_overrides(ds, ov)


def with_overrides(ds: Dataset, ov: RoleOverrides) -> Dataset:
    """``ds`` rebuilt with other roles (raises :class:`MTLError`; ``ds`` is untouched)."""
    if ds.sample is not None:
        return sample_dataset(ds.sample.key, ov)
    data = from_frame(ds.frame, user_table=ds.user_table, item_table=ds.item_table, roles=ov, name=ds.name)
    return dataclasses.replace(ds, data=data, token=dataset_token(ds.source_id, ov), overrides=ov)


def add_derived(ds: Dataset, expression: str) -> Dataset:
    """``ds`` with one more derived label (``"liked=rating>=4"``); raises :class:`MTLError`
    naming the problem (bad expression, missing column, name taken)."""
    label = parse_derived(expression)
    if label.name in ds.data.frame.columns:
        raise ConfigError(f"There is already a column named '{label.name}'; choose another name")
    ov = RoleOverrides.from_dict(json.loads(json.dumps(ds.overrides.to_dict())))
    ov.derive.append(label.expression)
    return with_overrides(ds, ov)


def remove_derived(ds: Dataset, name: str) -> Dataset:
    """``ds`` without the derived label ``name`` (and any role chosen for it)."""
    ov = RoleOverrides.from_dict(json.loads(json.dumps(ds.overrides.to_dict())))
    ov.derive = [e for e in ov.derive if parse_derived(e).name != name]
    ov.labels.pop(name, None)
    ov.ignore = [c for c in ov.ignore if c != name]
    return with_overrides(ds, ov)
