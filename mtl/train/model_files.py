"""Reading a saved model's files safely: nothing executes, blocks or balloons.

A model folder may come from anyone (a colleague, a course page, a download), so every
file is read through :func:`read_file`: it must be a regular file (not a FIFO, which
would block a reader forever, nor a device such as ``/dev/zero``, which never ends), a
link may only point to a file inside the folder, and its size must be under a limit
(:data:`MAX_BYTES`) checked before reading. JSON is parsed with its nesting bounded,
the weights are safetensors (raw numbers; their header is read and checked before any
tensor is built), tables are Parquet whose uncompressed size is checked from its
footer before it is decompressed. Every problem is a :class:`ModelFileError` naming
the file.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ModelFileError

MiB = 2**20
#: The largest file of each kind a model folder may hold. A model trained on the
#: largest upload the app accepts (200 MB) stays well under them.
MAX_BYTES = {
    "model.json": 16 * MiB,
    "encoder.json": 512 * MiB,
    "model.safetensors": 2048 * MiB,
    "table": 1024 * MiB,  # each .parquet file
}
#: The largest a Parquet table may become once decompressed (read from its footer).
MAX_TABLE_UNCOMPRESSED = 4096 * MiB

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))
# safetensors dtype -> bytes per element
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def _size(n: int) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"


def read_file(folder: Path, name: str, limit: int) -> bytes:
    """The bytes of ``folder/name``: a regular file inside ``folder`` of at most
    ``limit`` bytes (checked before reading), else :class:`ModelFileError`."""
    path = folder / name
    root = folder.resolve()
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a dangling link, or a link loop
        raise ModelFileError(f"{folder} is not a saved model: {name} is missing or a broken link") from None
    if root not in real.parents:
        raise ModelFileError(f"{folder}: {name} is a link to {real}, outside the model folder; "
                             "a saved model's files must be inside its folder")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (fstat below refuses it).
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        raise ModelFileError(f"{folder}: {name} cannot be opened ({err.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
            raise ModelFileError(f"{folder}: {name} is {kind}, not a regular file; a saved model holds plain files")
        if st.st_size > limit:
            raise ModelFileError(f"{folder}: {name} is {_size(st.st_size)}, over the {_size(limit)} a saved "
                                 "model's file may have")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)  # the file may have grown since fstat
    except OSError as err:
        raise ModelFileError(f"{folder}: {name} cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ModelFileError(f"{folder}: {name} is over the {_size(limit)} a saved model's file may have")
    return data


def parse_json(data: bytes, folder: Path, name: str):
    """JSON from bytes; damaged, non-UTF-8 or too deeply nested text is a :class:`ModelFileError`."""
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ModelFileError(f"{folder}: {name} is nested too deeply to be a model description") from None
    except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError is a ValueError
        raise ModelFileError(f"{folder}: {name} is damaged: not valid JSON ({str(err)[:120]})") from None


def read_json(folder: Path, name: str):
    return parse_json(read_file(folder, name, MAX_BYTES[name]), folder, name)


def safetensors_shapes(data: bytes, folder: Path, name: str = "model.safetensors") -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors file's header, checked for consistency
    (each tensor's bytes inside the file) without building any tensor."""
    damaged = f"{folder}: the weights file {name} is damaged or not a safetensors file"
    if len(data) < 8:
        raise ModelFileError(f"{damaged} (only {len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if not 2 <= n <= len(data) - 8:
        raise ModelFileError(f"{damaged} (its header claims {n:,} bytes)")
    header = parse_json(data[8:8 + n], folder, name)
    if not isinstance(header, dict):
        raise ModelFileError(f"{damaged} (its header is not a table of tensors)")
    body = len(data) - 8 - n
    shapes = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            ok = (dtype in _DTYPE_BYTES and isinstance(shape, list) and all(_is_int(d) and d >= 0 for d in shape)
                  and _is_int(begin) and _is_int(end) and 0 <= begin <= end <= body
                  and math.prod(shape) * _DTYPE_BYTES[dtype] == end - begin)
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ModelFileError(f"{damaged} (tensor '{str(key)[:60]}' is described inconsistently)")
        shapes[key] = tuple(shape)
    return shapes


def read_table(folder: Path, name: str):
    """A Parquet table, its uncompressed size checked from the footer before reading."""
    data = read_file(folder, name, MAX_BYTES["table"])
    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > MAX_TABLE_UNCOMPRESSED:
            raise ModelFileError(f"{folder}: {name} would take {_size(size)} once decompressed, over the "
                                 f"{_size(MAX_TABLE_UNCOMPRESSED)} a saved model's table may")
        return pd.read_parquet(io.BytesIO(data))
    except (OSError, ValueError, pa.ArrowException) as err:
        raise ModelFileError(f"{folder}: {name} is damaged ({str(err).splitlines()[0][:200]})") from None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
