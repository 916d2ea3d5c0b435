"""Every bad-data case of issue 16: a clear one-line DataError naming the column (and
row), or correct handling said in a note; resource limits refused before memory grows;
the app's upload and the CLI accept or refuse a file the same way."""

from __future__ import annotations

import codecs
import gzip
import io
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from mtl.cli import main
from mtl.data import from_frame, load, prepare, read_table
from mtl.data.dataset import check_usable
from mtl.data.encode import canonical
from mtl.data.io import _env_int
from mtl.errors import ConfigError, DataError, MTLError


def _frame(n=300, seed=0, **extra) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"user_id": rng.integers(0, 30, n), "item_id": rng.integers(0, 50, n),
                       "age": rng.normal(30, 5, n), "click": rng.integers(0, 2, n), "like": rng.integers(0, 2, n)})
    for k, v in extra.items():
        df[k] = v
    return df


def _csv(df: pd.DataFrame, **kwargs) -> bytes:
    return df.to_csv(index=False, **kwargs).encode()


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _finite(prepared) -> bool:
    return all(bool(torch.isfinite(p.x_num).all()) for p in (prepared.train, prepared.valid, prepared.test))


# ---------------------------------------------------------------- infinities
def test_infinite_feature_values_are_missing_with_a_note():
    df = _frame()
    df.loc[[4, 9, 10], "age"] = [np.inf, -np.inf, np.inf]
    data = from_frame(read_table(_csv(df), name="f.csv"))
    assert data.schema.numeric == ["age"]
    assert data.schema.notes["age"] == "numeric feature; 3 infinite values treated as missing (replaced by the training median)"
    prepared = prepare(data, ["click"])
    assert _finite(prepared)
    assert "Column 'age' has 3 infinite values, treated as missing." in prepared.warnings
    # The training median, as for a missing value: standardized, not an extreme.
    assert float(prepared.train.x_num[:, 0].abs().max()) < 10


def test_infinite_value_in_a_label_that_is_not_a_task():
    df = _frame(rating=np.random.default_rng(1).normal(3, 1, 300))
    df.loc[7, "rating"] = np.inf
    prepared = prepare(from_frame(df), ["click", "like"])
    assert _finite(prepared)


def test_infinite_value_in_a_task_names_the_row():
    df = _frame(rating=np.random.default_rng(1).normal(3, 1, 300))
    df.loc[[7, 20], "rating"] = [np.inf, -np.inf]
    with pytest.raises(DataError, match=r"^Label 'rating' has an infinite value \(inf\) at row 8 and 1 more; ") as info:
        prepare(from_frame(df), ["rating"])
    assert (info.value.column, info.value.row) == ("rating", 7)


@pytest.mark.parametrize("row", [3, 250, 299])  # train, and rows that land in validation or test
def test_regression_label_of_1e308(row):
    df = _frame(rating=np.random.default_rng(1).normal(3, 1, 300))
    df.loc[row, "rating"] = 1e308
    with pytest.raises(DataError, match=rf"^Label 'rating' has values too large to learn \(1e\+308 at row {row + 1}\); "
                                        "rescale the column"):
        prepare(from_frame(df), ["click", "rating"])
    prepared = prepare(from_frame(df), ["click", "like"])  # as another label: left out of the id statistics
    assert _finite(prepared)


def test_huge_numeric_feature_stays_finite():
    df = _frame()
    df.loc[3, "age"] = 1e308
    df.loc[4, "age"] = -1e308
    prepared = prepare(from_frame(df), ["click"])
    assert _finite(prepared)


def test_multiclass_label_with_an_infinite_value():
    df = _frame(label=np.random.default_rng(2).integers(0, 4, 300).astype(float))
    df.loc[11, "label"] = np.inf
    data = from_frame(df)
    assert data.schema.labels["label"] == "multiclass"
    with pytest.raises(DataError, match=r"^Label 'label' has an infinite value \(inf\) at row 12;") as info:
        prepare(data, ["click", "label"])
    assert info.value.row == 11
    assert _finite(prepare(data, ["click"]))  # not a task: unused


# ------------------------------------------------------------ nested columns
def test_parquet_list_and_struct_columns_are_ignored_with_a_note():
    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    table = table.append_column("tags", pa.array([[1, 2]] * 300)).append_column("meta", pa.array([{"a": 1}] * 300))
    data = from_frame(read_table(_parquet(table), name="n.parquet"), name="n.parquet")
    for col in ("tags", "meta"):
        assert col in data.schema.ignored
        assert data.schema.notes[col].startswith("ignored: holds lists or nested records")
    prepared = prepare(data, ["click", "like"])
    assert "Column 'tags' holds lists or nested records, so it was left out." in prepared.warnings
    with pytest.raises(DataError, match=r"^Column 'tags' holds lists or nested records .* it can only be ignored"):
        from_frame(read_table(_parquet(table), name="n.parquet"), roles={"categorical": ["tags"]})


# ------------------------------------------------------ no inputs, too small
def test_file_with_label_columns_only(tmp_path):
    path = tmp_path / "labels.csv"
    _frame()[["click", "like"]].to_csv(path, index=False)
    message = (r"^labels.csv has no input columns for the model \(labels: click, like; every other column is ignored "
               r"or a timestamp\); add user / item id or feature columns$")
    with pytest.raises(DataError, match=message):
        load(path)
    with pytest.raises(DataError, match=message):  # from_frame accepts it; training says why not
        prepare(from_frame(_frame()[["click", "like"]], name="labels.csv"), ["click"])


def test_too_few_rows_refused_at_load(tmp_path):
    path = tmp_path / "small.csv"
    _frame(20).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"^small.csv has only 20 data rows; at least 100 are needed to train and "
                                        r"evaluate \(the split keeps 10% of rows for validation and for testing, 10 "
                                        r"rows each at least\)$"):
        load(path)


# ------------------------------------------------------------------ big ids
def test_ids_beyond_64_bits_stay_exact_text_and_display():
    ids = [str(10**30 + k) for k in range(300)]
    df = read_table(_csv(_frame(user_id=ids)), name="big.csv")
    assert pd.api.types.is_string_dtype(df["user_id"])
    assert df["user_id"].tolist() == ids
    pa.Table.from_pandas(df)  # what st.dataframe does: no "Python int too large"
    data = from_frame(df)
    assert data.schema.user == "user_id"
    pa.Table.from_pandas(data.frame.head(100))


@pytest.mark.parametrize("written", ["scientific", "digits"])
def test_float_ids_beyond_exact_range_do_not_merge(written):
    # Read as floats, these ids used to collapse into one (an undefined float -> int64
    # cast) or lose digits (1e20 + 1 == 1e20).
    values = ([f"{(k + 1) * 1e20:e}" for k in range(30)] if written == "scientific"
              else [f"{10**20 + k}.0" for k in range(30)])
    df = read_table(_csv(_frame(user_id=[values[k % 30] for k in range(300)])), name="sci.csv")
    assert df["user_id"].nunique() == 30
    data = from_frame(df)
    prepared = prepare(data, ["click"])
    assert len(prepared.encoder.vocab["user_id"]) == 30


def test_canonical_keeps_huge_whole_floats_distinct():
    s = pd.Series([1e20, 1e20 + 2**17, 3e30, np.nan, np.inf])
    out = canonical(s)
    assert out.iloc[:3].nunique() == 3 and out.iloc[3:].isna().all()
    assert out.iloc[0] == "100000000000000000000"


def test_random_labels_stay_at_chance_with_odd_ids(tmp_path, capsys):
    """Validation AUC on random labels was reported at 0.963 / 1.000 for such ids; with
    ids kept exact, nothing id-derived tells the model a random label."""
    rng = np.random.default_rng(5)
    n = 3000
    u, i = rng.integers(0, 300, n), rng.integers(0, 400, n)
    uid = [str(10**30 + int(x) * 7919) for x in u]  # beyond 64 bits
    pd.DataFrame({"user_id": uid, "item_id": [f"{(x + 1) * 1e20:e}" for x in i], "click": rng.integers(0, 2, n),
                  "like": rng.integers(0, 2, n)}).to_csv(tmp_path / "r.csv", index=False)
    json_path = tmp_path / "r.json"
    assert main(["train", "--data", str(tmp_path / "r.csv"), "--epochs", "2", "--quiet", "--json", str(json_path)]) == 0
    import json

    doc = json.loads(json_path.read_text())
    for task in ("click", "like"):
        assert 0.38 < doc["test"][task]["auc"] < 0.62


# ----------------------------------------------------------- delimiters, text
def test_rows_with_another_delimiter_are_refused():
    lines = _csv(_frame()).decode().splitlines()
    lines = [ln.replace(",", ";") if k in (4, 40) else ln for k, ln in enumerate(lines)]
    with pytest.raises(DataError, match=r"^m.csv: row 4 \('[0-9;.]+'\) is separated by ';' while the header uses ',' "
                                        r"\(2 rows like this\); use one delimiter throughout") as info:
        read_table("\n".join(lines).encode(), name="m.csv")
    assert info.value.row == 3


def test_errors_are_one_line():
    assert str(MTLError("pyarrow says:\nNo more data\r\n  to read. ")) == "pyarrow says: No more data to read."
    assert str(DataError("a\nb", column="c")) == "a b"
    with pytest.raises(DataError) as info:
        read_table(b"PAR1" + bytes(200) + b"PAR1", name="p.parquet")
    assert str(info.value).startswith("p.parquet is not a readable Parquet file (")
    assert "\n" not in str(info.value) and " )" not in str(info.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
@pytest.mark.parametrize("sep", [",", "\t"])
def test_utf16_and_bom_files_are_decoded(encoding, sep):
    df = _frame(30, city=["Zürich", "Köln", "東京"] * 10)
    data = df.to_csv(index=False, sep=sep).encode(encoding)
    if encoding == "utf-16-le":
        assert not data.startswith(codecs.BOM_UTF16_LE)  # Python adds no BOM for an explicit byte order
    out = read_table(data, name="u.csv")
    assert list(out.columns) == list(df.columns)
    assert out["city"].tolist() == df["city"].tolist()
    assert out["user_id"].tolist() == df["user_id"].tolist()


def test_broken_utf16_is_a_clear_error():
    data = "a,b\n1,2\n".encode("utf-16") + b"\x00\xd8"  # a lone surrogate at the end
    with pytest.raises(DataError, match=r"^u.csv looks like UTF-16 text but has an invalid character"):
        read_table(data, name="u.csv")


# ------------------------------------------------------------- yes/no labels
@pytest.mark.parametrize("yes, no", [("yes", "no"), ("Y", "N"), ("true", "FALSE"), ("Yes", "no")])
def test_yes_no_labels_read_as_1_0_and_said(yes, no):
    rng = np.random.default_rng(3)
    values = np.where(rng.random(300) < 0.4, yes, no).astype(object)
    values[5] = None
    df = read_table(_csv(_frame(churned=values)), name="y.csv")
    data = from_frame(df)
    if yes == "true":  # pandas itself reads true/false (as booleans, objects with the gap)
        yes, no = "True", "False"
    assert data.schema.labels["churned"] == "binary"
    assert data.schema.notes["churned"] == f"binary label: values '{yes}'/'{no}' read as 1/0"
    col = data.frame["churned"]
    assert set(col.dropna()) == {0.0, 1.0} and col.isna().sum() == 1
    assert (col == 1).sum() == (np.char.lower(values[values != None].astype(str)) == yes.lower()).sum()  # noqa: E711
    prepared = prepare(data, ["click", "churned"])
    assert f"Column 'churned': values '{yes}'/'{no}' read as 1/0." in prepared.warnings


def test_python_booleans_with_gaps_are_a_binary_label():
    values = pd.Series([True, False, None] * 100, dtype=object)
    data = from_frame(_frame(subscribed=values))
    assert data.schema.labels["subscribed"] == "binary"
    assert data.frame["subscribed"].isna().sum() == 100


def test_text_that_merely_contains_yes_is_not_mapped():
    data = from_frame(_frame(answer=["yes", "no", "maybe"] * 100))
    assert data.schema.role_of("answer") == "categorical feature"


# ----------------------------------------------------- categorical as a task
# ------------------------------------------------- decimal commas, junk in labels
def _european(n=300) -> pd.DataFrame:
    """As Excel saves "CSV" where the comma is the decimal mark: ';' between fields."""
    rng = np.random.default_rng(8)
    return _frame(n, watch_time=[f"{v:.1f}".replace(".", ",") for v in rng.exponential(30, n)])


@pytest.mark.parametrize("stored", ["bytes", "path"])  # an upload, and the CLI's streamed file
def test_decimal_commas_are_numbers_and_said(tmp_path, stored):
    df = _european()
    content = df.to_csv(index=False, sep=";").encode()
    source = content if stored == "bytes" else tmp_path / "eu.csv"
    if stored == "path":
        source.write_bytes(content)
    data = from_frame(read_table(source, name="eu.csv"))
    # Not a categorical feature of hundreds of values: an outcome made an input.
    assert data.schema.labels["watch_time"] == "regression"
    expected = [float(v.replace(",", ".")) for v in df["watch_time"]]
    assert data.frame["watch_time"].tolist() == pytest.approx(expected)
    assert data.frame["age"].tolist() == pytest.approx(df["age"].tolist())  # written with '.': read as before
    said = "numbers written with a decimal comma (33,6) read as 33.6"
    assert data.schema.notes["watch_time"].endswith(said)
    assert data.schema.remarks["watch_time"] == f"Column 'watch_time': {said}."
    assert data.schema.remarks["watch_time"] in prepare(data, ["click", "watch_time"]).warnings


def test_text_in_a_rating_is_missing_and_said_by_inspect(tmp_path, capsys):
    rng = np.random.default_rng(9)
    rating = rng.integers(1, 6, 300).astype(object)
    rating[[4, 50, 51]] = ["five", "five", "n/a"]  # 'n/a' is a missing value to every CSV reader
    path = tmp_path / "junk.csv"
    path.write_bytes(_csv(_frame(rating=rating)))
    capsys.readouterr()
    assert main(["inspect", "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert "note: 2 values of rating are not numbers (e.g. 'five') and are treated as missing." in out
    summary = load(path).label_summary().set_index("label").loc["rating"]
    assert summary["labelled rows"] == 297 and summary["distinct values"] == 5


def test_categorical_column_as_a_multiclass_task():
    rng = np.random.default_rng(4)
    data = from_frame(_frame(category=rng.choice(["news", "sport", "music", "food"], 300)))
    assert data.schema.role_of("category") == "categorical feature"
    prepared = prepare(data, ["click", "category"])
    spec = prepared.tasks[1]
    assert (spec.kind, spec.classes) == ("multiclass", ("food", "music", "news", "sport"))
    assert "category" not in prepared.encoder.categorical  # never its own input
    assert prepared.data.schema.labels["category"] == "multiclass"
    assert any(w.startswith("'category' was a categorical feature; as a task it is a multiclass label with 4 classes")
               for w in prepared.warnings)
    assert data.schema.role_of("category") == "categorical feature"  # the caller's data is untouched


def test_categorical_column_with_too_many_classes_as_a_task():
    data = from_frame(_frame(shop=[f"s{k % 60}" for k in range(300)]))
    with pytest.raises(ConfigError, match=r"^'shop' is a categorical feature with 60 distinct values; as a task"):
        prepare(data, ["shop"])


# ------------------------------------------------------------------- limits
def test_gzip_bomb_refused_from_its_trailer_before_decompressing():
    bomb = _zeros_gz(64)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"^b.csv.gz decompresses to 64.0 MB, over the limit of 8.0 MB \(a "
                                            r"decompression bomb"):
            read_table(bomb, name="b.csv.gz", max_decompressed_bytes=8 * 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024  # one 16 MB block at most, not 64 MB


def test_gzip_bomb_refused_while_streaming_when_the_trailer_says_little():
    # Two gzip members: the trailer is the small last member's, so only the stream tells.
    bomb = _zeros_gz(32) + gzip.compress(b"a,b\n1,2\n")
    with pytest.raises(DataError, match=r"^b.csv.gz decompresses to more than 8.0 MB, over the limit of 8.0 MB"):
        read_table(bomb, name="b.csv.gz", max_decompressed_bytes=8 * 1024 * 1024)


def test_multi_member_gzip_within_the_limit_is_read():
    df = _frame(40)
    text = _csv(df)
    head, tail = text.split(b"\n", 21)[:21], text.split(b"\n", 21)[21]
    data = gzip.compress(b"\n".join(head) + b"\n") + gzip.compress(tail)
    assert read_table(data, name="m.csv.gz")["user_id"].tolist() == df["user_id"].tolist()


def test_parquet_uncompressed_size_limit():
    table = pa.table({"user_id": np.zeros(200_000, dtype=np.int64), "click": np.zeros(200_000, dtype=np.int64)})
    data = _parquet(table)
    with pytest.raises(DataError, match=r"^z.parquet holds [0-9.]+ [KM]B, over the limit of 1.0 KB"):
        read_table(data, name="z.parquet", max_decompressed_bytes=1024)
    assert len(read_table(data, name="z.parquet")) == 200_000


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_too_many_columns_refused_before_parsing(fmt):
    wide = pd.DataFrame(np.zeros((5, 3000)), columns=[f"f{k}" for k in range(3000)])
    data = _csv(wide) if fmt == "csv" else _parquet(pa.Table.from_pandas(wide, preserve_index=False))
    with pytest.raises(DataError, match=rf"^w.{fmt} has 3,000 columns, over the limit of 500; keep the columns you "
                                        r"need \(or raise MTL_MAX_COLUMNS\)$"):
        read_table(data, name=f"w.{fmt}")
    assert read_table(data, name=f"w.{fmt}", max_columns=None).shape == (5, 3000)


def test_limits_configurable_from_the_environment(monkeypatch):
    monkeypatch.setenv("MTL_MAX_COLUMNS", "2000")
    assert _env_int("MTL_MAX_COLUMNS", 500) == 2000
    monkeypatch.setenv("MTL_MAX_COLUMNS", "lots")
    with pytest.raises(DataError, match="MTL_MAX_COLUMNS must be a whole number, got 'lots'"):
        _env_int("MTL_MAX_COLUMNS", 500)
    monkeypatch.delenv("MTL_MAX_COLUMNS")
    assert _env_int("MTL_MAX_COLUMNS", 500) == 500


# ------------------------------------------------- one path: app and CLI agree
def _zeros_gz(mb: int) -> bytes:
    """gzip of ``mb`` MB of zeros, written in blocks (the zeros never sit in memory)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1) as out:
        block = bytes(1024 * 1024)
        for _ in range(mb):
            out.write(block)
    return buf.getvalue()


BAD_FILES = {
    "labels_only.csv": _csv(_frame()[["click", "like"]]),
    "tiny.csv": _csv(_frame(20)),
    "wide.csv": _csv(pd.DataFrame(np.zeros((40, 600)), columns=[f"f{k}" for k in range(600)])),
    "mixed.csv": b"user_id,item_id,click\n" + b"1,2,1\n" * 40 + b"3;4;0\n",
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_upload_and_cli_refuse_the_same_files(tmp_path, name, capsys):
    from pages import _datasets as ui

    content = BAD_FILES[name]
    with pytest.raises(MTLError) as upload:
        ui.dataset_from_upload((name, content))
    path = tmp_path / name
    path.write_bytes(content)
    capsys.readouterr()  # Streamlit's "no runtime" warnings
    assert main(["inspect", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {upload.value}\n"  # the same message, on one line


def test_a_gzip_bomb_is_refused_by_the_upload_limit_and_by_the_streaming_reader(tmp_path, capsys):
    # The command line streams a CSV.gz of any size (a 10M-row log is 700 MB of text),
    # so it looks at the text itself: 600 MB of zeros are not CSV, known from 64 KB.
    from pages import _datasets as ui

    bomb = _zeros_gz(600)  # over the default limit of 512 MB
    with pytest.raises(MTLError, match="decompresses to 600.0 MB, over the limit of 512.0 MB"):
        ui.dataset_from_upload(("bomb.csv.gz", bomb))
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(bomb)
    capsys.readouterr()
    assert main(["inspect", "--data", str(path)]) == 2
    assert capsys.readouterr().err == "error: bomb.csv.gz looks like a binary file, not CSV text; upload CSV, CSV.gz or Parquet\n"


def test_upload_and_cli_accept_the_same_odd_file(tmp_path, capsys):
    from pages import _datasets as ui

    rng = np.random.default_rng(6)
    df = _frame(churned=np.where(rng.random(300) < 0.5, "yes", "no"))
    df.loc[3, "age"] = np.inf
    content = df.to_csv(index=False, sep="\t").encode("utf-16")
    ds = ui.dataset_from_upload(("odd.csv", content))
    path = tmp_path / "odd.csv"
    path.write_bytes(content)
    assert main(["inspect", "--data", str(path)]) == 0
    assert ds.data.schema.to_dict() == load(path).schema.to_dict()
    check_usable(ds.data)
