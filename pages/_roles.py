"""Column roles as a user edits them on the Data page, and derived labels."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from mtl.data import RoleOverrides, Schema, from_frame
from mtl.data.derive import parse_derived
from mtl.errors import ConfigError
from pages._common import check_label
from pages._datasets import Dataset, dataset_token, sample_dataset

ROLE_CHOICES = (
    "user id", "item id", "timestamp", "binary label", "regression label", "multiclass label",
    "categorical feature", "numeric feature", "ignored", "text", "oracle",
)
#: Roles inference assigns but a user cannot choose (no override exists for them).
AUTOMATIC_ROLES = ("text", "oracle")


def role_label(schema: Schema, column: str) -> str:
    role = schema.role_of(column)
    return f"{schema.labels[column]} label" if role == "label" else role


def roles_table(schema: Schema) -> pd.DataFrame:
    """Editable view of a schema: ``column``, ``role`` (one of :data:`ROLE_CHOICES`), ``why``."""
    cols = list(schema.notes)
    return pd.DataFrame({"column": cols, "role": [role_label(schema, c) for c in cols],
                         "why": [schema.notes[c] for c in cols]})


def overrides_from_edits(schema: Schema, base: RoleOverrides, edited: pd.DataFrame) -> RoleOverrides:
    """Fold the roles a user changed in :func:`roles_table` into ``base`` overrides.

    Only changed columns are pinned, so everything else keeps being inferred.
    Raises :class:`ConfigError` naming the column for an impossible choice.
    """
    current = {c: role_label(schema, c) for c in schema.notes}
    chosen = dict(zip(edited["column"], edited["role"]))
    for col, role in chosen.items():
        if role is None or (isinstance(role, float) and pd.isna(role)) or role == "":
            raise ConfigError(f"Column '{col}' has no role; choose one")
        if role not in ROLE_CHOICES:
            raise ConfigError(f"Column '{col}': unknown role '{role}'")
    changed = {c: r for c, r in chosen.items() if current.get(c) != r}
    for col, role in changed.items():
        if role in AUTOMATIC_ROLES:
            raise ConfigError(f"Column '{col}': the '{role}' role is assigned automatically; "
                              "choose a feature role or 'ignored'")
    if not changed:
        return base
    ov = RoleOverrides.from_dict(json.loads(json.dumps(base.to_dict())))
    for col in changed:
        ov.labels.pop(col, None)
        for lst in (ov.features, ov.categorical, ov.numeric, ov.ignore):
            while col in lst:
                lst.remove(col)
    for attr, role in (("user", "user id"), ("item", "item id"), ("time", "timestamp")):
        holders = [c for c, r in chosen.items() if r == role]
        if len(holders) > 1:
            raise ConfigError(f"Only one column can be the {role}; you chose {', '.join(repr(h) for h in holders)}")
        if any(role in (r, current.get(c)) for c, r in changed.items()):
            setattr(ov, attr, holders[0] if holders else "")
    for col, role in changed.items():
        if role.endswith(" label"):
            ov.labels[col] = role.split()[0]
        elif role == "categorical feature":
            ov.categorical.append(col)
        elif role == "numeric feature":
            ov.numeric.append(col)
        elif role == "ignored":
            ov.ignore.append(col)
    return ov


def apply_roles(ds: Dataset, edited: pd.DataFrame) -> Dataset:
    """``ds`` rebuilt with the roles of an edited :func:`roles_table`; ``ds`` itself is
    untouched, so a failure (:class:`MTLError`) leaves the session's data usable."""
    ov = overrides_from_edits(ds.data.schema, ds.overrides, edited)
    if ov == ds.overrides:
        return ds
    for col, kind in ov.labels.items():
        if col in ds.data.frame:
            check_label(ds.data.frame, col, kind)
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
