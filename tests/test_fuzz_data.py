"""Property-based tests (Hypothesis): generated tables of every shape reach the end of
read -> prepare (-> one tiny training epoch) or stop with the project's own error.

Hypothesis draws a *recipe* (row count, a seed, column kinds and names, missing values,
infinities, huge numbers, unicode, delimiter, encoding, compression, a corruption);
NumPy builds the table from it, so thousands of rows cost little and a failing case
shrinks to a short recipe. See :mod:`_fuzz` for the contract checked.

CI runs a fixed set of cases (``derandomize``, no example database): the same cases on
every run. To explore new ones locally: ``MTL_FUZZ_RANDOM=1 MTL_FUZZ_EXAMPLES=5000
MTL_FUZZ_SAVE=1 pytest tests/test_fuzz_data.py``; a file that breaks the contract is
then kept in ``tests/fuzz_regressions/`` and replayed by ``test_fuzz_regressions.py``.
"""

from __future__ import annotations

import gzip
import io
import os
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _fuzz import check_contract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_RANDOM = os.environ.get("MTL_FUZZ_RANDOM") == "1"
_SCALE = max(1, int(os.environ.get("MTL_FUZZ_EXAMPLES", "0") or 0)) / 500 if os.environ.get("MTL_FUZZ_EXAMPLES") else 1.0
settings.register_profile(
    "mtl-fuzz",
    derandomize=not _RANDOM,
    database=None,  # CI writes nothing; failures worth keeping go to tests/fuzz_regressions/
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
PROFILE = settings.get_profile("mtl-fuzz")
#: Cases per CI run: read/prepare, and read/prepare/train (see the README's test section).
PREPARE_EXAMPLES = round(450 * _SCALE)
TRAIN_EXAMPLES = round(60 * _SCALE)

KINDS = ("user_id", "item_id", "timestamp", "binary", "yesno", "rating", "multiclass", "numeric", "category",
         "text", "constant", "empty", "big_id", "sci_id")
DEFAULT_NAMES = {"user_id": "user_id", "item_id": "item_id", "timestamp": "timestamp", "binary": "click",
                 "yesno": "liked", "rating": "rating", "multiclass": "label_genre", "numeric": "price",
                 "category": "city", "text": "title", "constant": "source", "empty": "notes", "big_id": "user_id",
                 "sci_id": "item_id"}
WORDS = ["Paris", "Zürich", "東京", "Ωmega", "a,b", 'say "hi"', "tab\tin", "line\nbreak", "", " ", "🙂", "عربى",
         "NaN", "null", "inf", "-", "0", "1.5"]
FORMATS = ("csv", "csv", "csv", "tsv", "semicolon", "pipe", "csv.gz", "parquet")
ENCODINGS = ("utf-8",) * 6 + ("utf-8-sig", "utf-16", "utf-16-le", "latin-1")
CORRUPTIONS = (None,) * 8 + ("truncate", "other_delimiter_row", "extra_field", "blank_lines", "duplicate_header",
                             "missing_fields")
SPECIALS = (None,) * 6 + ("inf", "huge", "unicode", "negative")

names = st.one_of(st.none(), st.none(), st.none(), st.text(min_size=0, max_size=10))


@st.composite
def recipes(draw):
    size = draw(st.sampled_from(("normal",) * 8 + ("tiny", "tiny", "large")))
    n = draw({"tiny": st.integers(0, 110), "normal": st.integers(100, 300), "large": st.sampled_from([1000, 3000])}[size])
    column = st.tuples(st.sampled_from(KINDS), names, st.sampled_from((0.0, 0.0, 0.0, 0.1, 0.6, 1.0)),
                       st.sampled_from(SPECIALS))
    # Most tables start like an interaction log (ids and a 0/1 outcome), so that most
    # cases travel the whole pipeline; the rest are free-form.
    log = [("user_id", None, 0.0, None), ("item_id", None, 0.0, None), ("binary", None, 0.0, None)]
    base = draw(st.sampled_from([log, log, log, log[::2], []]))
    columns = base + draw(st.lists(column, min_size=0 if base else 1, max_size=7))
    return {
        "n": n, "seed": draw(st.integers(0, 2**16)), "columns": columns, "format": draw(st.sampled_from(FORMATS)),
        "encoding": draw(st.sampled_from(ENCODINGS)), "corruption": draw(st.sampled_from(CORRUPTIONS)),
        "cut": draw(st.floats(0.05, 0.95)),
    }


def _values(kind: str, n: int, rng: np.random.Generator, special: str | None) -> np.ndarray:
    if kind in ("user_id", "item_id"):
        v = rng.integers(0, max(2, n // 6), n)
        return -v if special == "negative" else v
    if kind == "timestamp":
        return np.sort(1_700_000_000 + rng.integers(0, 10**6, n))
    if kind == "binary":
        return (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int)
    if kind == "yesno":
        yes, no = [("yes", "no"), ("Y", "N"), ("true", "false"), ("Yes", "No")][int(rng.integers(4))]
        return np.where(rng.random(n) < 0.4, yes, no).astype(object)
    if kind == "rating":
        return rng.integers(1, 6, n).astype(float)
    if kind == "multiclass":
        return rng.integers(0, int(rng.integers(2, 6)), n).astype(float)
    if kind == "numeric":
        return rng.lognormal(0, 2, n) if special == "negative" else rng.normal(0, 3, n)
    if kind == "category":
        return rng.choice(WORDS[: int(rng.integers(2, len(WORDS)))], n).astype(object)
    if kind == "text":
        return np.array([f"Title {k} " + "x" * int(rng.integers(0, 40)) for k in range(n)], dtype=object)
    if kind == "constant":
        return np.ones(n)
    if kind == "empty":
        return np.full(n, np.nan)
    if kind == "big_id":
        return np.array([str(10**25 + int(x)) for x in rng.integers(0, max(2, n // 6), n)], dtype=object)
    return np.array([f"{(int(x) + 1) * 1e20:e}" for x in rng.integers(0, max(2, n // 6), n)], dtype=object)


def build(recipe: dict) -> tuple[str, bytes]:
    """The file (name, bytes) a recipe describes."""
    n, rng = recipe["n"], np.random.default_rng(recipe["seed"])
    cols: dict[str, np.ndarray] = {}
    for k, (kind, name, missing, special) in enumerate(recipe["columns"]):
        values = _values(kind, n, rng, special)
        if special in ("inf", "huge") and values.dtype.kind == "f" and n:
            rows = rng.integers(0, n, max(1, n // 50))
            values[rows] = np.inf if special == "inf" else 1e308 * rng.choice([-1, 1])
            if special == "inf":
                values[rows[::2]] = -np.inf
        if special == "unicode" and n:
            values = values.astype(object)
            values[rng.integers(0, n, max(1, n // 20))] = rng.choice(WORDS)
        if missing and n:
            values = values.astype(object) if values.dtype.kind in "iU" else values
            values[rng.random(n) < missing] = None if values.dtype == object else np.nan
        column = name if name is not None else DEFAULT_NAMES[kind]
        while column in cols:  # unique, so pandas and Parquet can write it; duplicates come from a corruption
            column = f"{column}_{k}"
        cols[column] = values
    df = pd.DataFrame(cols)
    fmt = recipe["format"]
    if fmt == "parquet":
        buf = io.BytesIO()
        for c in df.columns:  # Parquet columns hold one type: mixed values as text, as a CSV would
            if df[c].dtype == object:
                df[c] = df[c].map(lambda v: None if v is None or v != v else str(v))
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table, buf)
        return "fuzz.parquet", _corrupt_binary(buf.getvalue(), recipe)
    sep = {"tsv": "\t", "semicolon": ";", "pipe": "|"}.get(fmt, ",")
    text = _corrupt_text(df.to_csv(index=False, sep=sep), sep, recipe)
    data = text.encode(recipe["encoding"], errors="replace")
    if fmt == "csv.gz":
        return "fuzz.csv.gz", _corrupt_binary(gzip.compress(data, mtime=0), recipe)
    return f"fuzz.{'tsv' if fmt == 'tsv' else 'csv'}", data


def _corrupt_text(text: str, sep: str, recipe: dict) -> str:
    kind, lines = recipe["corruption"], text.split("\n")
    if kind is None or len(lines) < 3:
        return text
    row = 1 + int(recipe["cut"] * (len(lines) - 2))
    other = "," if sep != "," else ";"
    if kind == "other_delimiter_row":
        lines[row] = lines[row].replace(sep, other)
    elif kind == "extra_field":
        lines[row] = lines[row] + sep + "extra"
    elif kind == "missing_fields":
        lines[row] = lines[row].split(sep)[0]
    elif kind == "blank_lines":
        lines.insert(row, "")
        lines.insert(row, "   ")
    elif kind == "duplicate_header":
        head = lines[0].split(sep)
        lines[0] = sep.join([head[0]] * 2 + head[2:]) if len(head) > 1 else lines[0]
    return "\n".join(lines)


def _corrupt_binary(data: bytes, recipe: dict) -> bytes:
    if recipe["corruption"] == "truncate":
        return data[: int(len(data) * recipe["cut"])]
    return data


_outcomes: dict[str, dict[str, int]] = {"prepare": {}, "train": {}}
_timing: dict[str, float] = {}


def _record(stage: str, outcome: str) -> None:
    counts = _outcomes[stage]
    counts[outcome] = counts.get(outcome, 0) + 1


@settings(PROFILE, max_examples=PREPARE_EXAMPLES)
@given(recipes())
def test_generated_tables_load_and_prepare_or_raise_our_error(recipe):
    name, content = build(recipe)
    _record("prepare", check_contract(name, content, train=False))


@settings(PROFILE, max_examples=TRAIN_EXAMPLES)
@given(recipes())
def test_generated_tables_train_one_tiny_epoch_or_raise_our_error(recipe):
    name, content = build(recipe)
    _record("train", check_contract(name, content, train=True))


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    """Print how many generated cases ran, how they ended, and the time they took
    (``pytest -s``), and make sure enough of them reached the end of the pipeline for
    the test to mean something."""
    start = time.perf_counter()
    yield
    total = sum(sum(c.values()) for c in _outcomes.values())
    if not total:
        return
    print(f"\nfuzz: {total} generated cases in {time.perf_counter() - start:.1f}s: "
          + "; ".join(f"{stage} {dict(sorted(c.items()))}" for stage, c in _outcomes.items()))
    if _outcomes["prepare"] and not _RANDOM:
        assert _outcomes["prepare"].get("prepared", 0) >= 0.2 * sum(_outcomes["prepare"].values())
    if _outcomes["train"] and not _RANDOM:
        assert _outcomes["train"].get("trained", 0) >= 0.2 * sum(_outcomes["train"].values())
