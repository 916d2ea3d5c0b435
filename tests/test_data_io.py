"""read_table: formats, sources, delimiter detection and every way a file can be bad."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mtl.data import read_table
from mtl.errors import DataError, MTLError

FRAME = pd.DataFrame(
    {
        "user_id": [1, 2, 3, 4, 5],
        "item_id": [10, 11, 12, 10, 11],
        "click": [0, 1, 0, 1, 1],
        "city": ["Paris", "Zürich", "Oslo", "Köln", "Paris"],
        "watch_time": [0.0, 12.5, 0.0, 3.25, 40.0],
    }
)


def _check_frame(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(FRAME.columns)
    assert df["user_id"].tolist() == FRAME["user_id"].tolist()
    assert df["city"].tolist() == FRAME["city"].tolist()
    assert df["watch_time"].tolist() == pytest.approx(FRAME["watch_time"].tolist())


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _raises(source, match: str, **kwargs) -> DataError:
    with pytest.raises(DataError, match=match) as info:
        read_table(source, **kwargs)
    assert isinstance(info.value, MTLError)
    return info.value


# ------------------------------------------------------------------ good files
@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.tsv", "t.parquet"])
def test_reads_every_format_from_a_path(write_table, name):
    path = write_table(FRAME, name)
    _check_frame(read_table(path))
    _check_frame(read_table(str(path)))


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet"])
def test_reads_bytes_and_file_objects(write_table, name):
    data = write_table(FRAME, name).read_bytes()
    _check_frame(read_table(data, name=name))
    upload = io.BytesIO(data)
    upload.name = name  # like a Streamlit upload
    _check_frame(read_table(upload))
    with open(write_table(FRAME, name), "rb") as fh:
        _check_frame(read_table(fh))


def test_format_detected_from_content_without_a_name(write_table):
    # Parquet magic and gzip magic are recognized even for a nameless upload.
    _check_frame(read_table(write_table(FRAME, "t.parquet").read_bytes()))
    _check_frame(read_table(gzip.compress(FRAME.to_csv(index=False).encode())))


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_detection(sep):
    text = FRAME.to_csv(index=False, sep=sep)
    _check_frame(read_table(text.encode(), name="t.csv"))


def test_semicolon_file_with_decimal_commas_and_commas_in_text():
    text = "user_id;item_id;price;name\n1;2;1,5;Smith, John\n2;3;2,25;Doe, Jane\n3;4;7,0;Roe, Rick\n"
    df = read_table(text.encode(), name="eu.csv")
    assert list(df.columns) == ["user_id", "item_id", "price", "name"]
    assert df["name"].tolist() == ["Smith, John", "Doe, Jane", "Roe, Rick"]
    assert df["price"].tolist() == [1.5, 2.25, 7.0] and df.attrs["decimal_comma"] == ["price"]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_commas_only_where_every_value_is_one(sep):
    rows = [("1,5", "3,7", "1,5", "12,5", "1.234,5", "2,5"), ("-0,25", "4", "x", "7", "2,5", "10"),
            ("", "5,1", "2,0", "3,25", "3", "")]
    text = sep.join(["watch_time", "tags", "mixed", "percentage", "thousands", "item_id"]) + "\n"
    text += "".join(sep.join(r) + "\n" for r in rows)
    df = read_table(text.encode(), name="eu.csv")
    assert df["watch_time"].tolist()[:2] == [1.5, -0.25] and np.isnan(df["watch_time"][2])
    assert df["percentage"].tolist() == [12.5, 7.0, 3.25]  # holds "tag", is a number
    assert df["tags"].tolist() == ["3,7", "4", "5,1"]  # a list of codes, not 3.7
    assert df["mixed"].tolist() == ["1,5", "x", "2,0"]  # not every value a number
    assert df["thousands"].tolist() == ["1.234,5", "2,5", "3"]  # thousands marks: not read as numbers
    assert df["item_id"].tolist()[:2] == ["2,5", "10"]  # an id: kept as written
    assert df.attrs["decimal_comma"] == ["watch_time", "percentage"]


def test_a_quoted_decimal_comma_in_a_comma_separated_file_stays_text():
    df = read_table(b'user_id,price\n1,"1,5"\n2,"2,5"\n', name="t.csv")
    assert df["price"].tolist() == ["1,5", "2,5"] and "decimal_comma" not in df.attrs


def test_header_whitespace_is_stripped():
    df = read_table(b" user_id , click\n1,0\n2,1\n", name="t.csv")
    assert list(df.columns) == ["user_id", "click"]


def test_utf8_bom_is_not_part_of_the_first_column_name():
    df = read_table("\ufeffuser_id,click\n1,0\n2,1\n".encode("utf-8"), name="t.csv")
    assert list(df.columns)[0] == "user_id"


# ------------------------------------------------------------------ bad files
def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    _raises(path, r"empty\.csv is empty")
    _raises(b"", r"upload\.csv is empty", name="upload.csv")


def test_blank_lines_only():
    _raises(b"\n\n\n", r"t\.csv is empty", name="t.csv")


@pytest.mark.parametrize("content", [b"a,b,c\n", b"a,b,c"])
def test_header_only_file(content):
    _raises(content, r"h\.csv has a header but no data rows", name="h.csv")


def test_header_only_parquet():
    data = _parquet_bytes(pa.table({"a": pa.array([], pa.int64()), "b": pa.array([], pa.string())}))
    _raises(data, "no data rows", name="h.parquet")


def test_latin1_byte_in_the_middle_of_a_small_file():
    lines = ["user_id,item_id,city"] + [f"{i},{i},Paris" for i in range(50)]
    lines[26] = "25,25,Café"
    data = "\n".join(lines).encode("latin-1")
    pos = data.index(b"\xe9")
    err = _raises(data, r"l1\.csv is not UTF-8 text", name="l1.csv")
    assert "0xe9" in str(err)
    assert f"position {pos}" in str(err)
    assert "line 27" in str(err)


def test_latin1_byte_beyond_the_first_64kb():
    # pandas reports a position relative to its read buffer; the message must give the real one.
    lines = ["user_id,item_id,city"] + [f"{i},{i},Paris" for i in range(8000)]
    lines[7001] = "7000,7000,Café"
    data = "\n".join(lines).encode("latin-1")
    assert len(data) > 100_000
    pos = data.index(b"\xe9")
    err = _raises(data, "is not UTF-8 text", name="big.csv")
    assert f"position {pos}" in str(err)
    assert "line 7002" in str(err)


def test_latin1_byte_at_the_very_end_of_a_small_file():
    data = "a,b\n1,2\n3,Café\n".encode("latin-1")
    pos = data.index(b"\xe9")
    err = _raises(data, "is not UTF-8 text", name="end.csv")
    assert f"position {pos}" in str(err)


def test_other_encoding_can_be_chosen():
    data = "user_id,city\n1,Café\n2,Köln\n".encode("latin-1")
    df = read_table(data, name="l1.csv", encoding="latin-1")
    assert df["city"].tolist() == ["Café", "Köln"]


def test_duplicate_column_names_csv():
    err = _raises(b"user_id,click,click\n1,0,1\n2,1,0\n", r"two columns named 'click'", name="d.csv")
    assert err.column == "click"
    # Differences in surrounding spaces do not make names different.
    _raises(b"a, b,b \n1,2,3\n", r"two columns named 'b'", name="d.csv")


def test_duplicate_column_names_parquet():
    data = _parquet_bytes(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["a", "a"]))
    err = _raises(data, r"d\.parquet has two columns named 'a'", name="d.parquet")
    assert err.column == "a"


def test_one_column_because_of_an_odd_delimiter():
    err = _raises(b"user_id:item_id:click\n1:2:0\n3:4:1\n", r"only one column 'user_id:item_id:click'", name="c.csv")
    assert err.column == "user_id:item_id:click"
    assert "semicolon" in str(err)


def test_size_limit_from_a_path(write_table):
    path = write_table(FRAME, "big.csv")
    err = _raises(path, r"big\.csv is .* over the size limit of 10 bytes", max_bytes=10)
    assert "bytes" in str(err)


def test_size_limit_from_bytes_and_file_objects():
    data = FRAME.to_csv(index=False).encode()
    _raises(data, r"up\.csv is .* over the size limit", name="up.csv", max_bytes=len(data) - 1)
    upload = io.BytesIO(data)
    upload.name = "up2.csv"
    _raises(upload, r"up2\.csv is .* over the size limit", max_bytes=len(data) - 1)
    assert len(read_table(data, name="ok.csv", max_bytes=len(data))) == len(FRAME)


def test_max_rows():
    data = FRAME.to_csv(index=False).encode()
    _raises(data, r"r\.csv has 5 rows, over the limit of 4", name="r.csv", max_rows=4)
    assert len(read_table(data, name="r.csv", max_rows=5)) == 5


def test_binary_junk_with_nul_bytes():
    _raises(b"\x00\x01\x02abc\x00" * 200, r"j\.csv looks like a binary file", name="j.csv")


def test_random_binary_junk():
    junk = np.random.default_rng(0).bytes(5000)
    err = _raises(junk, r"junk\.csv", name="junk.csv")
    assert "not UTF-8 text" in str(err) or "binary" in str(err)


def test_corrupt_gzip():
    _raises(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, r"z\.csv\.gz looks gzip-compressed but cannot be decompressed",
            name="z.csv.gz")
    truncated = gzip.compress(FRAME.to_csv(index=False).encode())[:-6]
    _raises(truncated, "cannot be decompressed", name="z.csv.gz")


@pytest.mark.parametrize("data", [b"PAR1 garbage", b"not parquet at all"])
def test_corrupt_parquet(data):
    _raises(data, r"p\.parquet is not a readable Parquet file", name="p.parquet")


def test_ragged_csv():
    _raises(b"a,b\n1,2\n3,4,5,6\n7,8\n", r"r\.csv is not a well-formed CSV table", name="r.csv")


def test_missing_path(tmp_path):
    _raises(tmp_path / "nope.csv", r"File not found: .*nope\.csv")


def test_folder_path(tmp_path):
    _raises(tmp_path, "is a folder, not a data file")


@pytest.mark.parametrize(
    "content, position",
    [
        (b",a,b\n0,1,2\n1,3,4\n", 1),  # pandas' to_csv with the index
        (b"a,b,\n1,2,\n3,4,\n", 3),  # a trailing delimiter
        (b"a,b,,\n1,2,,\n3,4,,\n", 3),  # two of them: still "without a name", not "duplicate ''"
    ],
)
def test_column_without_a_name(content, position):
    _raises(content, rf"n\.csv has a column without a name \(position {position}\)", name="n.csv")


def test_parquet_column_without_a_name():
    data = _parquet_bytes(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["a", " "]))
    _raises(data, r"has a column without a name \(position 2\)", name="n.parquet")
