"""Reading interaction tables: CSV, CSV.gz and Parquet, from a path or uploaded bytes.

Every failure becomes a :class:`~mtl.errors.DataError` that says what is wrong with
the file in words a user can act on (empty, wrong encoding, wrong delimiter,
duplicate column names, too large, too wide, a decompression bomb), never a parser
traceback. UTF-16 text (Excel's "Unicode text") and byte-order marks are decoded.

Limits, each refused before the table is built so memory stays bounded:

* ``max_bytes``: the file as stored (:data:`DEFAULT_MAX_BYTES`);
* ``max_decompressed_bytes``: an uploaded ``.csv.gz`` after decompression, or an
  uploaded Parquet file's uncompressed column data
  (:data:`DEFAULT_MAX_DECOMPRESSED_BYTES`; environment variable
  ``MTL_MAX_DECOMPRESSED_MB``). A file named by its path is read from a stream, Parquet
  batch by batch and CSV / CSV.gz block by block (``pyarrow.csv.open_csv``), each
  integer column in the narrowest type holding its values, so it is held to
  ``max_bytes`` only: a 10M-row log takes about 1.5 GB of memory (2 GB at the
  peak of reading it, roles inferred);
* ``max_columns``: columns of one table (:data:`DEFAULT_MAX_COLUMNS`; environment
  variable ``MTL_MAX_COLUMNS``).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from ..errors import DataError, one_line

Source = str | os.PathLike | bytes | BinaryIO


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise DataError(f"The environment variable {name} must be a whole number, got '{raw}'") from None
    if value <= 0:
        raise DataError(f"The environment variable {name} must be positive, got {value}")
    return value


#: Default upper bound on the size of a file to read (the app's upload limit is
#: set separately in ``.streamlit/config.toml``).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: Largest decompressed CSV or uncompressed Parquet data: 1 MB of gzip can hold 1 GB of
#: zeros, which pandas would turn into several GB of memory.
DEFAULT_MAX_DECOMPRESSED_BYTES = _env_int("MTL_MAX_DECOMPRESSED_MB", 512) * 1024 * 1024
#: Most columns in one table: every column becomes an input of the model, and a few
#: thousand make training take many minutes on a small file.
DEFAULT_MAX_COLUMNS = _env_int("MTL_MAX_COLUMNS", 500)
PARQUET_SUFFIXES = (".parquet", ".pq")
_DELIMITERS = [",", ";", "\t", "|"]
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
_CHUNK = 16 * 1024 * 1024
_MAX_DEFLATE_RATIO = 1040
#: Integers beyond this lose digits as float64: ids that large are kept as text.
_EXACT_FLOAT = 2**53


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
    max_decompressed_bytes: int | None = DEFAULT_MAX_DECOMPRESSED_BYTES,
    max_columns: int | None = DEFAULT_MAX_COLUMNS,
) -> pd.DataFrame:
    """Read a CSV (optionally gzip-compressed) or Parquet table.

    ``source`` is a path, raw bytes or a binary file object (e.g. a Streamlit upload,
    whose ``.name`` gives the format). The delimiter of a CSV is detected among
    ``, ; TAB |``; UTF-8 with or without a byte-order mark and UTF-16 are read.
    Integer ids too large for 64 bits (or for exact floats) are kept as text, so
    distinct ids never merge. Raises :class:`DataError` for an unreadable, empty,
    oversized, too wide or malformed file, duplicate column names, rows using another
    delimiter, or more than ``max_rows`` rows.
    """
    if _parquet_path(source):
        # Read from the file batch by batch, never as one block of bytes: its
        # decompressed size is no danger then, so only uploads are held to that limit.
        name = name or Path(source).name
        _check_size(Path(source).stat().st_size, name, max_bytes)
        df = _read_parquet(source, name, None, max_columns)
    elif _csv_path(source):
        # Likewise a CSV or CSV.gz file is parsed from a stream, block by block.
        name = name or Path(source).name
        _check_size(Path(source).stat().st_size, name, max_bytes)
        df = _read_csv_path(Path(source), name, encoding, max_columns)
    else:
        df, name = _read_bytes(source, name, max_bytes, encoding, max_decompressed_bytes, max_columns)
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


def _read_bytes(source: Source, name: str | None, max_bytes: int | None, encoding: str,
                max_decompressed_bytes: int | None, max_columns: int | None) -> tuple[pd.DataFrame, str]:
    data, name = _as_bytes(source, name, max_bytes)
    if not data:
        raise DataError(f"{name} is empty (0 bytes)")
    if name.lower().endswith(PARQUET_SUFFIXES) or data[:4] == b"PAR1":
        return _read_parquet(io.BytesIO(data), name, max_decompressed_bytes, max_columns), name
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name, max_decompressed_bytes)
    return _read_csv(data, name, encoding, max_columns), name


def _too_big(name: str, what: str, size: int, limit: int) -> DataError:
    return DataError(
        f"{name} {what} {_human(size)}, over the limit of {_human(limit)} (a decompression bomb, or a table too "
        "large to explore here); use a sample of the rows, or raise MTL_MAX_DECOMPRESSED_MB (the command line "
        "reads a CSV, CSV.gz or Parquet file of any size)"
    )


def _gunzip(data: bytes, name: str, limit: int | None) -> bytes:
    """Decompress gzip ``data`` in bounded steps, refusing more than ``limit`` bytes of
    output as soon as it is known: the gzip trailer states the size (modulo 4 GB),
    trusted once the first block decompresses and when deflate could reach it (at most
    ~1,032 times smaller; a truncated file's "trailer" is noise)."""
    claimed = int.from_bytes(data[-4:], "little") if len(data) >= 18 else 0
    claimed = claimed if claimed <= _MAX_DEFLATE_RATIO * len(data) else 0
    out = bytearray()
    stream = zlib.decompressobj(wbits=31)
    pending = data
    try:
        while True:
            piece = stream.decompress(pending, _CHUNK)
            out += piece
            if limit is not None and (len(out) > limit or claimed > limit):
                size = max(claimed, len(out))
                raise _too_big(name, "decompresses to" if claimed > limit else "decompresses to more than",
                               size if claimed > limit else limit, limit)
            pending = stream.unconsumed_tail
            if stream.eof:
                pending = stream.unused_data
                if not pending.strip(b"\0"):  # the end, or padding after the last member
                    return bytes(out)
                stream = zlib.decompressobj(wbits=31)  # another gzip member follows
                claimed = 0  # the trailer belongs to the last member only
            elif not pending and len(piece) < _CHUNK:
                raise EOFError("the file ends before the end of the compressed data")
    except (zlib.error, EOFError) as err:
        raise DataError(f"{name} looks gzip-compressed but cannot be decompressed ({err})") from None


def _too_wide(name: str, n: int, limit: int) -> DataError:
    return DataError(
        f"{name} has {n:,} columns, over the limit of {limit:,}; keep the columns you need "
        "(or raise MTL_MAX_COLUMNS)"
    )


def _parquet_path(source: Source) -> bool:
    """A Parquet file on disk (by its name, or its first bytes)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = Path(source)
    if not path.is_file() or path.stat().st_size == 0:
        return False  # missing, a folder or empty: _as_bytes says which
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        return True
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _check_size(size: int, name: str, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{name} is {_human(size)}, over the size limit of {_human(max_bytes)}; "
            "use a sample of the rows or raise the limit"
        )


#: Rows decoded at once from a Parquet file: each batch is narrowed before the next.
PARQUET_BATCH_ROWS = 1 << 20


def _narrow_type(field, meta, column: int):
    """The narrowest integer type that holds every value of an integer column, from
    the row groups' statistics (written by every Parquet writer in use); None to keep
    the column's own type (other types, or statistics missing)."""
    import pyarrow as pa

    if not pa.types.is_integer(field.type) or meta.num_row_groups == 0:
        return None
    low = high = None
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(column).statistics
        if stats is None or not stats.has_min_max:
            if stats is not None and stats.null_count == meta.row_group(g).num_rows:
                continue  # all missing: no values to hold
            return None
        low = stats.min if low is None else min(low, stats.min)
        high = stats.max if high is None else max(high, stats.max)
    if low is None:
        return None
    for kind in (pa.int8(), pa.int16(), pa.int32(), pa.int64()):
        info = np.iinfo(kind.to_pandas_dtype())
        if info.min <= low and high <= info.max:
            return kind if kind.bit_width < field.type.bit_width else None
    return None


def _read_parquet(source, name: str, max_decompressed: int | None, max_columns: int | None) -> pd.DataFrame:
    """Read a Parquet file (a path or a file object) batch by batch, each integer
    column cast to the narrowest type holding its values (a user id of 20,000 users
    takes 2 bytes a row, a 0/1 label 1), then hand the columns to pandas one at a
    time (``self_destruct``): the peak is about one narrow copy of the table, not the
    file's bytes plus Arrow's table plus pandas' frame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(source, memory_map=isinstance(source, (str, os.PathLike)))
        names = file.schema_arrow.names
        if max_columns is not None and len(names) > max_columns:
            raise _too_wide(name, len(names), max_columns)
        meta = file.metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if max_decompressed is not None and size > max_decompressed:
            raise _too_big(name, "holds", size, max_decompressed)
        # Check names first: pq.read_table fails on duplicates with an opaque message.
        _check_duplicates(names, name)
        schema = file.schema_arrow
        leaves = {file.schema.column(j).path: j for j in range(len(file.schema))}  # flat columns: path == name
        narrow = {f.name: t for f in schema if f.name in leaves and (t := _narrow_type(f, meta, leaves[f.name]))}
        batches = []
        for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            if narrow:
                target = batch.schema  # with its pandas metadata (the index, extension types)
                for i, f in enumerate(target):
                    if f.name in narrow:
                        target = target.set(i, f.with_type(narrow[f.name]))
                batch = pa.RecordBatch.from_arrays(
                    [col.cast(t) if col.type != t else col for col, t in zip(batch.columns, target.types)], schema=target)
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else schema.empty_table()
        del batches
        frame = table.to_pandas(self_destruct=True, split_blocks=True)
        del table
    except DataError:
        raise
    except Exception as err:  # pyarrow raises several unrelated types
        raise DataError(f"{name} is not a readable Parquet file ({one_line(err)})") from None
    return _exact_ids(frame)


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


def _utf16(data: bytes) -> str | None:
    """The UTF-16 codec ``data`` is written in (Excel's "Unicode text"), from its
    byte-order mark or, without one, from the zero high bytes of ASCII text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:4096]
    if len(head) >= 8:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None


def _read_csv(data: bytes, name: str, encoding: str, max_columns: int | None) -> pd.DataFrame:
    wide = _utf16(data) if _is_utf8(encoding) else None
    if wide:
        try:
            data = data.decode(wide).encode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(f"{name} looks like UTF-16 text but has an invalid character at byte {err.start}; "
                            "re-save it as UTF-8 CSV") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    sep = _dialect(data[:_HEAD], data, name, encoding, max_columns)
    return _csv_frame(lambda: io.BytesIO(data), name, sep, encoding,
                      lambda as_text: _pandas_csv(data, name, sep, encoding, as_text))


def _csv_path(source: Source) -> bool:
    """A CSV or CSV.gz file on disk (anything but Parquet: the content decides)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = Path(source)
    return path.is_file() and path.stat().st_size > 0


def _read_csv_path(path: Path, name: str, encoding: str, max_columns: int | None) -> pd.DataFrame:
    """Parse a CSV or CSV.gz file from a stream, never holding its text whole: 10M rows
    are 700 MB of text, and the narrow columns built from them a fraction of that."""
    import pyarrow as pa

    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    compression = "gzip" if gz else None
    try:
        with pa.input_stream(str(path), compression=compression) as f:
            head = f.read(_HEAD)
    except (OSError, pa.ArrowException):
        head = b""  # not readable as gzip: the whole-file path says why
    if not head or not _is_utf8(encoding) or _utf16(head):
        # Rare text (UTF-16, another encoding) and unreadable files take the whole-file
        # path and its messages.
        return _read_bytes(path, name, None, encoding, DEFAULT_MAX_DECOMPRESSED_BYTES, max_columns)[0]
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]  # pyarrow skips it too
    sep = _dialect(head, head if len(head) < _HEAD else None, name, encoding, max_columns)

    def whole(as_text: list[str] | None) -> pd.DataFrame | None:
        # pandas' reading and messages for what the stream refuses, for files small
        # enough to hold whole: where a user fixes a file by hand.
        if path.stat().st_size > _FALLBACK_BYTES:
            return None
        data = path.read_bytes()
        if gz:
            data = _gunzip(data, name, DEFAULT_MAX_DECOMPRESSED_BYTES)
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        return _pandas_csv(data, name, sep, encoding, as_text)

    return _csv_frame(lambda: pa.input_stream(str(path), compression=compression), name, sep, encoding, whole)


def _is_utf8(encoding: str) -> bool:
    return encoding.replace("-", "").replace("_", "").lower() == "utf8"


def _dialect(head: bytes, data: bytes | None, name: str, encoding: str, max_columns: int | None) -> str:
    """The delimiter, after the checks the first 64 KB allow: text, not binary; not too
    wide; no duplicate column names. ``data`` is the whole text when known (for the
    line of an invalid byte), None when ``head`` is only its beginning."""
    whole = data if data is not None else head
    try:
        text_head = head.decode(encoding)
    except UnicodeDecodeError as err:
        # The cut at 64 KB may split a multi-byte character; only fail on real errors.
        if err.start < len(head) - 4 or (data is not None and len(head) == len(data)):
            raise _not_text(name, encoding, whole, err.start) from None
        text_head = head[: err.start].decode(encoding)
    if "\x00" in text_head:
        raise DataError(f"{name} looks like a binary file, not CSV text; upload CSV, CSV.gz or Parquet")
    sep = _sniff_delimiter(text_head)
    header = next(csv.reader(io.StringIO(text_head.splitlines()[0] if text_head else ""), delimiter=sep), [])
    if max_columns is not None and len(header) > max_columns:
        raise _too_wide(name, len(header), max_columns)
    # Blank names are reported below as a column without a name, not as duplicates.
    _check_duplicates([h.strip() for h in header if h.strip()], name)
    return sep


def _csv_frame(open_stream, name: str, sep: str, encoding: str, whole) -> pd.DataFrame:
    """The table parsed by pyarrow, block by block (:func:`_arrow_csv`), then checked.
    What pyarrow refuses (ragged rows, bad bytes, an empty file) is parsed again by
    ``whole(as_text)`` (pandas on the whole text, for its more lenient reading and its
    messages) when it returns a frame, and refused with pyarrow's reason otherwise."""

    def parse(as_text: list[str] | None) -> pd.DataFrame:
        try:
            return _arrow_csv(open_stream, sep, encoding, as_text)
        except _Unparsed as err:
            frame = whole(as_text)
            if frame is None:
                reason = str(err)
                if "invalid UTF-8" in reason:
                    raise DataError(f"{name} is not {encoding.upper()} text ({reason}); re-save it as UTF-8 CSV") from None
                raise DataError(f"{name} is not a well-formed CSV table: {reason}") from None
            return frame

    df = parse(None)
    raw_names = list(df.columns)
    df.columns = [str(c).strip() for c in df.columns]
    if df.shape[1] == 1 and len(df) > 0:
        col = df.columns[0]
        other = [d for d in _DELIMITERS if d != sep and d in col]
        hint = f" (the header contains '{other[0]}': is that the delimiter?)" if other else ""
        raise DataError(
            f"{name} has only one column '{col[:60]}'{hint}; use comma-, semicolon- or tab-separated values",
            column=col,
        )
    _check_other_delimiter(df, name, sep)
    lossy = _lossy_id_columns(df)
    if lossy:
        # Read those columns again as written: as floats, 12345678901234567890 and
        # 12345678901234567891 are the same number, and 1e+20 loses its digits too.
        df = parse([raw_names[i] for i in lossy])
        df.columns = [str(c).strip() for c in df.columns]
    df = _exact_ids(df)
    if sep in _DECIMAL_COMMA_SEPARATORS:
        df = _decimal_commas(df)
    return df


def _pandas_csv(data: bytes, name: str, sep: str, encoding: str, as_text: list[str] | None) -> pd.DataFrame:
    dtype = {c: str for c in as_text} if as_text else None
    try:
        return pd.read_csv(io.BytesIO(data), sep=sep, encoding=encoding, low_memory=False, dtype=dtype)
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


class _Unparsed(Exception):
    """pyarrow cannot read the text as one table (its reason in words)."""


#: Text parsed at once from a CSV stream: each block's integer columns are narrowed
#: before the next block is parsed.
CSV_BLOCK_BYTES = 16 * 1024 * 1024
#: Files up to this size on disk are parsed again whole by pandas when pyarrow refuses
#: them (pandas fills short rows, and its messages name the line).
_FALLBACK_BYTES = 64 * 1024 * 1024
_HEAD = 65536
#: What pandas reads as missing, so both parsers agree.
_NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
              "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
#: A column whose values do not fit the type inferred from the first block is parsed
#: again in the next type: whole numbers, then any number, then text (as pandas does).
_WIDER = {"null": "int64", "int64": "double", "uint64": "double"}
_CONVERSION = re.compile(r"In CSV column #(\d+): .*CSV conversion error to (\w+)")


def _arrow_csv(open_stream, sep: str, encoding: str, as_text: list[str] | None) -> pd.DataFrame:
    """Parse with ``pyarrow.csv.open_csv`` one block at a time, each integer column of a
    block cast to the narrowest type holding its values, then the columns handed to
    pandas one at a time: the peak is about one narrow copy of the table, as for
    Parquet. Types follow pandas: whole numbers, numbers, true/false, and text (dates
    and times stay text), pandas' missing values."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = {c: pa.string() for c in as_text or []}
    read = pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding="utf8" if _is_utf8(encoding) else encoding)
    parse = pcsv.ParseOptions(delimiter=sep, newlines_in_values=True)
    for _ in range(64):  # each retry widens one column for good
        convert = pcsv.ConvertOptions(
            column_types=types, null_values=_NA_VALUES, strings_can_be_null=True, quoted_strings_can_be_null=True,
            true_values=["True", "TRUE", "true"], false_values=["False", "FALSE", "false"])
        names: list[str] = []
        try:
            with open_stream() as stream:
                reader = pcsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
                names = reader.schema.names
                odd = {f.name: pa.string() for f in reader.schema if f.name not in types and not _plain_type(f.type)}
                if odd:
                    types.update(odd)
                    continue
                chunks: list[list] = [[] for _ in names]
                for batch in reader:
                    for i, column in enumerate(batch.columns):
                        chunks[i].append(_narrowest(column))
        except pa.ArrowInvalid as err:
            match = _CONVERSION.search(str(err))
            names = names or _header(open_stream, sep)  # the error came with the first block
            if match is None or int(match[1]) >= len(names):
                raise _Unparsed(one_line(err).removeprefix("CSV parse error: ")) from None
            column = names[int(match[1])]
            if match[2] == "string":  # text that is not text
                raise _Unparsed(f"an invalid UTF-8 byte in column '{column}'") from None
            types[column] = pa.type_for_alias(_WIDER.get(match[2], "string"))
            continue
        except (OSError, pa.ArrowException) as err:
            raise _Unparsed(one_line(err)) from None
        if len(set(names)) < len(names):
            raise _Unparsed("two columns have the same name")
        columns = [_joined(c, reader.schema.field(i).type) for i, c in enumerate(chunks)]
        del chunks
        table = pa.Table.from_arrays(columns, names=names)
        del columns
        return table.to_pandas(self_destruct=True, split_blocks=True)
    raise _Unparsed("the columns' types keep changing from block to block")  # pragma: no cover


def _header(open_stream, sep: str) -> list[str]:
    with open_stream() as stream:
        head = stream.read(_HEAD).decode("utf-8", errors="replace").removeprefix("\ufeff")
    return next(csv.reader(io.StringIO(head.splitlines()[0] if head else ""), delimiter=sep), [])


def _plain_type(t) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_string(t) \
        or pa.types.is_null(t)


def _narrowest(column):
    """An integer column in the narrowest type holding its values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_integer(column.type) or column.null_count == len(column):
        return column
    bounds = pc.min_max(column)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    for kind in (pa.int8(), pa.int16(), pa.int32()):
        info = np.iinfo(kind.to_pandas_dtype())
        if info.min <= low and high <= info.max:
            return column.cast(kind)
    return column


def _joined(chunks: list, parsed):
    """One column from its blocks, in the widest of their narrowed types (missing
    throughout: float64, as pandas reads an empty column)."""
    import pyarrow as pa

    if pa.types.is_null(parsed):
        return pa.chunked_array([pa.nulls(len(c), pa.float64()) for c in chunks], type=pa.float64())
    widest = max((c.type for c in chunks), key=lambda t: t.bit_width if pa.types.is_integer(t) else 0, default=parsed)
    return pa.chunked_array([c if c.type == widest else c.cast(widest) for c in chunks], type=widest)


def _lossy_id_columns(df: pd.DataFrame) -> list[int]:
    """Positions of id-named float columns of whole numbers beyond the exact range of
    float64 (ids written in scientific notation, or too long for 64 bits)."""
    from .schema import looks_like_id

    out = []
    for i, col in enumerate(df.columns):
        s = df[col]
        if pd.api.types.is_float_dtype(s) and looks_like_id(col):
            v = s.to_numpy(dtype=float, na_value=np.nan)
            v = v[np.isfinite(v)]
            if len(v) and np.abs(v).max() >= _EXACT_FLOAT and np.all(v == np.round(v)):
                out.append(i)
    return out


#: Delimiters of files written where the comma is the decimal mark (Excel in most of
#: Europe saves "CSV" with ';', and "Unicode text" with tabs): only there can a value
#: such as 33,6 be a number.
_DECIMAL_COMMA_SEPARATORS = (";", "\t")
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*")
_DECIMAL_OR_WHOLE = re.compile(r"\s*[+-]?(?:\d*,\d+(?:[eE][+-]?\d+)?|\d+)\s*")
#: Attribute of a frame read by :func:`read_table` listing its columns read with decimal
#: commas, for :func:`~mtl.data.dataset.from_frame` to tell the user.
DECIMAL_COMMA_ATTR = "decimal_comma"


def _decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every value is a number written with a decimal comma (33,6)
    or a whole number, as numbers; their names in ``df.attrs[DECIMAL_COMMA_ATTR]``.
    Without this a watch time of 33,6 is text: a categorical feature of hundreds of
    values, an outcome silently made an input. Columns named like ids, codes or tags
    are left as text: there "3,7" is more likely a list of two codes than 3.7."""
    from .schema import looks_like_codes

    converted = []
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object) or looks_like_codes(col):
            continue
        values = s.dropna()
        if values.empty or not all(isinstance(v, str) for v in values.iloc[:100]):
            continue
        # A look at the first values rules out ordinary text before any whole-column pass.
        head = values.iloc[:1000]
        if not head.str.fullmatch(_DECIMAL_OR_WHOLE).all():
            continue
        if not (values.str.fullmatch(_DECIMAL_OR_WHOLE).all() and values.str.fullmatch(_DECIMAL_COMMA).any()):
            continue
        df[col] = pd.to_numeric(s.str.strip().str.replace(",", ".", regex=False)).astype(float)
        converted.append(col)
    if converted:
        df.attrs[DECIMAL_COMMA_ATTR] = converted
    return df


def _exact_ids(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding integers beyond 64 bits (pandas keeps them as Python ints,
    which neither Arrow nor NumPy can hold) as text: they are ids, and as text they
    stay distinct, display, and join."""
    for col in df.columns:
        s = df[col]
        if s.dtype == object:
            v = s.dropna()
            if len(v) and v.map(lambda x: isinstance(x, int) and not isinstance(x, bool)).any():
                df[col] = s.map(lambda x: x if pd.isna(x) else str(x)).astype("str")
    return df


def _check_other_delimiter(df: pd.DataFrame, name: str, sep: str) -> None:
    """Refuse rows written with another delimiter: pandas reads such a row as one value
    in the first column and leaves every other column (labels included) empty."""
    if df.shape[1] < 2 or not (pd.api.types.is_string_dtype(df.iloc[:, 0]) or df.iloc[:, 0].dtype == object):
        return
    rest_empty = df.iloc[:, 1:].isna().all(axis=1).to_numpy()
    if not rest_empty.any():
        return
    first = df.iloc[:, 0].astype("str")
    for other in _DELIMITERS:
        if other == sep:
            continue
        bad = rest_empty & first.str.contains(other, regex=False).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            rows = np.flatnonzero(bad)
            value = str(first.iloc[rows[0]])
            value = value if len(value) <= 40 else value[:37] + "..."
            raise DataError(
                f"{name}: row {rows[0] + 1} ('{value}') is separated by {_DELIMITER_NAMES[other]} while the header "
                f"uses {_DELIMITER_NAMES[sep]} ({len(rows):,} row{'s' if len(rows) > 1 else ''} like this); "
                "use one delimiter throughout, or its other columns (labels included) would be read as missing",
                row=int(rows[0]),
            )
