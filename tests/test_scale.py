"""Large logs in bounded memory: chunked simulation into narrow Parquet columns, the
batch-by-batch Parquet reader, role inference on a sample, and (slow suite) a 1M-row
``synth`` + ``train`` whose peak memory is held to the 10M-row target scaled down."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mtl.data import dataset, from_frame, load, read_table
from mtl.data.synthetic import simulate, write, write_chunked
from mtl.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
WORLD = dict(n_users=300, n_items=400, seed=5)


# ------------------------------------------------------------------ synthesis
def test_one_chunk_is_exactly_simulate(tmp_path):
    log = write_chunked(tmp_path / "a.csv.gz", n_impressions=2000, **WORLD)
    write(simulate(n_impressions=2000, **WORLD), tmp_path / "b.csv.gz")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()
    df = pd.read_csv(tmp_path / "a.csv.gz")
    assert (log.rows, log.users, log.items) == (2000, df.user_id.nunique(), df.item_id.nunique())
    assert log.rates["click"] == pytest.approx(df.click.mean())


def test_chunks_share_one_world_and_draw_new_impressions(tmp_path):
    path = tmp_path / "log.parquet"
    write_chunked(path, n_impressions=2500, chunk_rows=1000, **WORLD)
    df = pd.read_parquet(path)
    assert len(df) == 2500
    first, second = df.iloc[:1000], df.iloc[1000:2000]
    # The same items have the same topic and title in every chunk (one world) ...
    items = pd.concat([first, second]).groupby("item_id")[["item_category", "item_title"]].nunique()
    assert (items <= 1).all().all()
    # ... but each chunk has its own impressions, each sorted by time.
    assert not np.array_equal(first.user_id.to_numpy(), second.user_id.to_numpy())
    assert all(df.iloc[a:a + 1000].timestamp.is_monotonic_increasing for a in (0, 1000, 2000))
    assert first.reset_index(drop=True).equals(
        pd.read_parquet(path).iloc[:1000].reset_index(drop=True))  # deterministic


def test_parquet_columns_are_narrow_and_exact(tmp_path):
    path = tmp_path / "log.parquet"
    write_chunked(path, n_impressions=1500, **WORLD)
    types = {f.name: str(f.type) for f in pq.read_schema(path)}
    assert types["user_id"] == types["item_id"] == "int16" and types["click"] == "int8"
    assert types["watch_time"] == types["true_click"] == "float"
    full = simulate(n_impressions=1500, **WORLD)
    back = pd.read_parquet(path)
    # watch time in tenths of a second: >= 18 s (a long view) survives float32 exactly.
    assert ((back.watch_time >= 18) == (full.watch_time >= 18)).all()
    assert np.allclose(back.true_like, full.true_like, atol=1e-6)
    assert (back.user_id.to_numpy() == full.user_id.to_numpy()).all()


def test_unknown_format_and_bad_chunk_size_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot tell the format"):
        write_chunked(tmp_path / "x.txt", n_impressions=10)
    with pytest.raises(ValueError, match="chunk_rows must be a positive integer"):
        write_chunked(tmp_path / "x.csv", n_impressions=10, chunk_rows=0)
    assert not list(tmp_path.iterdir())  # nothing half-written is left


# --------------------------------------------------------------------- reading
def test_parquet_path_read_in_narrow_integer_types(tmp_path):
    frame = pd.DataFrame({
        "small": np.arange(300, dtype=np.int64) % 7,
        "mid": np.arange(300, dtype=np.int64) * 100,
        "big": np.arange(300, dtype=np.int64) + 2**40,
        "gaps": pd.array([1, None, 3] * 100, dtype="Int64"),
        "x": np.linspace(0, 1, 300),
        "s": ["a", "b", "c"] * 100,
    })
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, row_group_size=64)  # several row groups: statistics combined
    back = read_table(path)
    assert str(back.small.dtype) == "int8" and str(back["mid"].dtype) == "int16" and str(back.big.dtype) == "int64"
    for col in ("small", "mid", "big"):
        assert (back[col].to_numpy() == frame[col].to_numpy()).all()
    assert back.gaps.isna().sum() == 100 and back.gaps.dropna().tolist() == [1.0, 3.0] * 100
    assert back.x.equals(frame.x) and back.s.tolist() == frame.s.tolist()
    # The same file uploaded (bytes) reads the same values.
    uploaded = read_table(path.read_bytes(), name="t.parquet")
    assert (uploaded.mid.to_numpy() == back["mid"].to_numpy()).all()


def test_narrowed_parquet_keeps_the_pandas_index_it_was_written_with(tmp_path):
    frame = pd.DataFrame({"a": np.arange(100)}, index=pd.Index(np.arange(100) + 5, name="rowid"))
    frame.to_parquet(tmp_path / "i.parquet")
    back = read_table(tmp_path / "i.parquet")
    assert str(back.a.dtype) == "int8" and back.index.name == "rowid" and back.index[0] == 5


def test_parquet_path_is_not_held_to_the_upload_decompressed_limit(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"user_id": np.arange(5000), "click": np.arange(5000) % 2}).to_parquet(path)
    assert len(read_table(path, max_decompressed_bytes=1024)) == 5000
    with pytest.raises(DataError, match="over the limit of 1.0 KB"):
        read_table(path.read_bytes(), name="t.parquet", max_decompressed_bytes=1024)
    with pytest.raises(DataError, match="over the size limit"):
        read_table(path, max_bytes=100)


def test_empty_parquet_and_broken_parquet_paths(tmp_path):
    empty = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user_id": pa.array([], pa.int64())}), empty)
    with pytest.raises(DataError, match="has a header but no data rows"):
        read_table(empty)
    broken = tmp_path / "b.parquet"
    broken.write_bytes(b"PAR1" + b"\0" * 100)
    with pytest.raises(DataError, match="is not a readable Parquet file"):
        read_table(broken)


def _blocks(monkeypatch, size: int = 4096) -> None:
    """Parse CSV text in small blocks, so a small file takes the many-block path."""
    from mtl.data import io as mio

    monkeypatch.setattr(mio, "CSV_BLOCK_BYTES", size)


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz"])
def test_csv_path_streamed_block_by_block_into_narrow_columns(tmp_path, monkeypatch, name):
    from mtl.data import io as mio

    _blocks(monkeypatch)
    n = 6000
    frame = pd.DataFrame({
        "user_id": np.arange(n) % 90, "item_id": np.arange(n) * 7,  # narrow first, wider in later blocks
        "click": np.arange(n) % 2, "ts": 20220505 + np.arange(n) % 3,
        "day": ["2022-05-05 12:00", "2022-05-06"] * (n // 2),  # dates stay text, as pandas reads them
        "ok": ["true", "False"] * (n // 2), "x": np.linspace(0, 1, n),
        "gaps": ["NA", "", "None", "3"] * (n // 4), "title": ['a "quoted", title', "line\nbreak"] * (n // 2),
    })
    path = tmp_path / name
    frame.to_csv(path, index=False)
    # The text is never held whole: the stream is all there is.
    monkeypatch.setattr(mio, "_read_bytes", lambda *a, **k: pytest.fail("read whole"))
    monkeypatch.setattr(mio, "_pandas_csv", lambda *a, **k: pytest.fail("parsed by pandas"))
    back = read_table(path, max_decompressed_bytes=1024)  # a path is not held to the upload limit
    expected = pd.read_csv(path)
    assert {c: str(t) for c, t in back.dtypes.items()} == {
        "user_id": "int8", "item_id": "int32", "click": "int8", "ts": "int32", "day": "str", "ok": "bool",
        "x": "float64", "gaps": "float64", "title": "str"}
    for col in frame.columns:
        assert back[col].astype(str).tolist() == expected[col].astype(str).tolist(), col


def test_csv_column_whose_values_change_type_in_a_later_block(monkeypatch):
    _blocks(monkeypatch)
    rows = [f"{i},{i % 5},{i},," for i in range(3000)] + ["3000,2,2.5,text,7", "3001,3,4,8,"]
    text = "user_id,item_id,value,note,late\n" + "\n".join(rows) + "\n"
    back = read_table(text.encode(), name="t.csv")
    expected = pd.read_csv(io.BytesIO(text.encode()))
    assert str(back.value.dtype) == "float64" and back.value.iloc[-2] == 2.5
    assert back.note.dropna().tolist() == ["text", "8"] == expected.note.dropna().astype(str).tolist()
    assert back.late.dropna().tolist() == [7.0] and str(back.item_id.dtype) == "int8"


def test_csv_upload_keeps_its_limits_and_pandas_messages(tmp_path, monkeypatch):
    from mtl.data import io as mio

    text = "user_id,item_id,click\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(300))
    with pytest.raises(DataError, match="over the limit of 1.0 KB"):
        read_table(gzip.compress(text.encode()), name="t.csv.gz", max_decompressed_bytes=1024)
    ragged = text + "1,2,3,4\n"
    with pytest.raises(DataError, match=r"^t.csv is not a well-formed CSV table: .*Expected 3 fields in line 302, saw 4$"):
        read_table(ragged.encode(), name="t.csv")
    # A file too large to parse again whole says what pyarrow found, on one line.
    path = tmp_path / "big.csv"
    path.write_text(ragged)
    monkeypatch.setattr(mio, "_FALLBACK_BYTES", 100)
    with pytest.raises(DataError, match=r"^big.csv is not a well-formed CSV table: (Row #302: )?Expected 3 columns, got 4: "):
        read_table(path)
    long = "user_id,item_id,click\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(9000))
    path.write_bytes(long.encode() + b"5,6,\xff\n")  # past the first 64 KB, which are checked before parsing
    with pytest.raises(DataError, match=r"^big.csv is not UTF-8 text \(an invalid UTF-8 byte in column 'click'\); re-save it as UTF-8 CSV$"):
        read_table(path)


# --------------------------------------------------------------- role sampling
def test_roles_of_a_long_table_come_from_a_sample_checked_on_every_row(monkeypatch):
    monkeypatch.setattr(dataset, "ROLE_SAMPLE_ROWS", 500)
    frame = simulate(n_users=100, n_items=150, n_impressions=3000, seed=2)
    sampled = from_frame(frame).schema
    monkeypatch.setattr(dataset, "ROLE_SAMPLE_ROWS", 10**9)
    whole = from_frame(frame).schema
    assert (sampled.labels, sampled.categorical, sampled.numeric, sampled.user, sampled.item, sampled.time) == (
        whole.labels, whole.categorical, whole.numeric, whole.user, whole.item, whole.time)
    # A value the sample missed (a 2 in a 0/1 column) sends inference to the whole table.
    monkeypatch.setattr(dataset, "ROLE_SAMPLE_ROWS", 500)
    odd = frame.copy()
    odd.loc[1234, "like"] = 2
    schema = from_frame(odd).schema
    assert schema.labels.get("like") != "binary"


# ------------------------------------------------------------------ slow suite
#: 10M rows must fit in 6 GB; 1M rows gets a tenth of that above the process's memory
#: after imports, plus a fixed allowance for what does not grow with rows (encoder
#: vocabularies, the model, PyTorch's and Arrow's pools).
TARGET_10M_MB = 6 * 1024
FIXED_MB = 300


@pytest.mark.slow
def test_one_million_rows_synth_and_train_in_bounded_memory(tmp_path):
    """``benchmarks/scale.py`` in its own process (the test process's memory does not
    count): simulate 1M impressions to Parquet, read, prepare, a share of an epoch and
    the evaluation; every stage's peak resident memory above the imports stays within
    the 10M-row target scaled to 1M rows."""
    out = tmp_path / "scale.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--rows", "1000000",
                           "--users", "20000", "--items", "50000", "--epoch-fraction", "0.02", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    stages = {s["stage"]: s for s in report["stages"]}
    base = stages["import"]["rss_after_mb"]
    assert report["rows"] == 1_000_000 and {"synth", "read", "prepare", "evaluate"} <= set(stages)
    growth = report["peak_rss_mb"] - base
    assert growth < TARGET_10M_MB / 10 + FIXED_MB, report["stages"]
    # 2% of an epoch learns little; the evaluation of the whole test part ran to the end.
    assert len(report["test_auc"]) == 3 and all(0 <= auc <= 1 for auc in report["test_auc"].values())


def test_load_reads_a_simulated_parquet_log(tmp_path):
    path = tmp_path / "log.parquet"
    write_chunked(path, n_impressions=3000, chunk_rows=1200, **WORLD)
    data = load(path)
    assert data.n_rows == 3000 and data.schema.user == "user_id"
    assert {"click", "like", "long_view"} <= set(data.schema.labels)
    assert str(data.frame.user_id.dtype) == "int16" and str(data.frame.click.dtype) == "int8"
