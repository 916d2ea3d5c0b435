"""Reading interaction tables: CSV, CSV.gz and Parquet, from a path or uploaded bytes.

Every failure becomes a :class:`~mtl.errors.DataError` that says what is wrong with
the file in words a user can act on (empty, wrong encoding, wrong delimiter,
duplicate column names, too large), never a parser traceback.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from ..errors import DataError

Source = str | os.PathLike | bytes | BinaryIO

#: Default upper bound on the size of a file to read (the app's upload limit is
#: set separately in ``.streamlit/config.toml``).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".gz")
_DELIMITERS = [",", ";", "\t", "|"]


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def _as_bytes(source: Source, name: str | None, max_bytes: int | None) -> tuple[bytes, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = name or path.name
        if not path.exists():
            raise DataError(f"File not found: {path}")
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a data file")
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DataError(
                f"{name} is {_human(size)}, over the size limit of {_human(max_bytes)}; "
                "use a sample of the rows or raise the limit"
            )
        return path.read_bytes(), name
    data = source if isinstance(source, bytes) else source.read()
    name = name or getattr(source, "name", None) or "uploaded file"
    if max_bytes is not None and len(data) > max_bytes:
        raise DataError(
            f"{name} is {_human(len(data))}, over the size limit of {_human(max_bytes)}"
        )
    return data, name


def read_table(
    source: Source,
    *,
    name: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    max_rows: int | None = None,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a CSV (optionally gzip-compressed) or Parquet table.

    ``source`` is a path, raw bytes or a binary file object (e.g. a Streamlit upload,
    whose ``.name`` gives the format). The delimiter of a CSV is detected among
    ``, ; TAB |``. Raises :class:`DataError` for an unreadable, empty, oversized or
    malformed file, duplicate column names, or more than ``max_rows`` rows.
    """
    data, name = _as_bytes(source, name, max_bytes)
    lower = name.lower()
    if not data:
        raise DataError(f"{name} is empty (0 bytes)")
    if lower.endswith(PARQUET_SUFFIXES) or data[:4] == b"PAR1":
        df = _read_parquet(data, name)
    else:
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as err:
                raise DataError(f"{name} looks gzip-compressed but cannot be decompressed ({err})") from err
        df = _read_csv(data, name, encoding)
    if len(df.columns) == 0:
        raise DataError(f"{name} has no columns")
    if len(df) == 0:
        raise DataError(f"{name} has a header but no data rows")
    if max_rows is not None and len(df) > max_rows:
        raise DataError(
            f"{name} has {len(df):,} rows, over the limit of {max_rows:,}; use a sample of the rows"
        )
    blank = [c for c in df.columns if str(c).strip() == "" or str(c).startswith("Unnamed: ")]
    if blank:
        raise DataError(
            f"{name} has a column without a name (position {list(df.columns).index(blank[0]) + 1}); "
            "give every column a header",
            column=str(blank[0]),
        )
    return df


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(data))
        # Check names first: pq.read_table fails on duplicates with an opaque message.
        _check_duplicates(file.schema_arrow.names, name)
        table = file.read()
    except DataError:
        raise
    except Exception as err:  # pyarrow raises several unrelated types
        raise DataError(f"{name} is not a readable Parquet file ({err})") from None
    return table.to_pandas()


def _check_duplicates(columns, name: str) -> None:
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            raise DataError(
                f"{name} has two columns named '{col}'; rename one so every column is unique",
                column=str(col),
            )
        seen.add(col)


def _sniff_delimiter(text_head: str) -> str:
    lines = [ln for ln in text_head.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        # Fall back to the delimiter that splits the header into the most fields.
        return max(_DELIMITERS, key=lambda d: lines[0].count(d))


def _not_text(name: str, encoding: str, data: bytes, start: int) -> DataError:
    line = data.count(b"\n", 0, start) + 1
    return DataError(
        f"{name} is not {encoding.upper()} text (byte 0x{data[start]:02x} at position {start}, line {line}); "
        "re-save it as UTF-8 CSV"
    )


def _read_csv(data: bytes, name: str, encoding: str) -> pd.DataFrame:
    head = data[:65536]
    try:
        text_head = head.decode(encoding)
    except UnicodeDecodeError as err:
        # The cut at 64 KB may split a multi-byte character; only fail on real errors.
        if err.start < len(head) - 4 or len(head) == len(data):
            raise _not_text(name, encoding, data, err.start) from None
        text_head = head[: err.start].decode(encoding)
    if "\x00" in text_head:
        raise DataError(f"{name} looks like a binary file, not CSV text; upload CSV, CSV.gz or Parquet")
    sep = _sniff_delimiter(text_head)
    header = next(csv.reader(io.StringIO(text_head.splitlines()[0] if text_head else ""), delimiter=sep), [])
    # Blank names are reported below as a column without a name, not as duplicates.
    _check_duplicates([h.strip() for h in header if h.strip()], name)
    try:
        df = pd.read_csv(io.BytesIO(data), sep=sep, encoding=encoding, low_memory=False)
    except UnicodeDecodeError as err:
        # pandas reports a position inside its read buffer; find the real one.
        try:
            data.decode(encoding)
        except UnicodeDecodeError as full:
            raise _not_text(name, encoding, data, full.start) from None
        raise DataError(f"{name} is not {encoding.upper()} text ({err.reason}); re-save it as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty") from None
    except pd.errors.ParserError as err:
        msg = str(err).strip().splitlines()[-1]
        raise DataError(f"{name} is not a well-formed CSV table: {msg}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.shape[1] == 1 and len(df) > 0:
        col = df.columns[0]
        other = [d for d in _DELIMITERS if d != sep and d in col]
        hint = f" (the header contains '{other[0]}': is that the delimiter?)" if other else ""
        raise DataError(
            f"{name} has only one column '{col[:60]}'{hint}; use comma-, semicolon- or tab-separated values",
            column=col,
        )
    return df
