"""A saved model as one zip file, and back: "Download model" in the app, and what
``python -m mtl recommend --model`` and the app's "open a saved model" accept.

The zip holds the files of :meth:`mtl.train.TrainedModel.save` (safetensors weights,
JSON descriptions, parquet tables; no pickled code) at its root or in one folder.
Reading one is defensive, since zips come from other people: only those file names
are taken, nothing is written outside the target folder, and the unpacked size is
capped (a zip bomb is refused before it fills the disk).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from .errors import ModelFileError

#: The files a saved model folder may hold.
MODEL_FILES = ("model.json", "encoder.json", "model.safetensors", "items.parquet", "users.parquet",
               "interactions.parquet", "test_rows.parquet")
REQUIRED = ("model.json", "encoder.json", "model.safetensors")
#: Refuse zips that unpack to more than this (bytes).
MAX_UNPACKED = 2 * 1024**3


def zip_model(directory: str | os.PathLike, out: str | os.PathLike | None = None) -> bytes | Path:
    """Pack a saved model folder: the zip's bytes, or written to ``out`` (returned)."""
    src = Path(directory)
    missing = [f for f in REQUIRED if not (src / f).is_file()]
    if missing:
        raise ModelFileError(f"{src} is not a saved model: {', '.join(missing)} missing")
    buffer = io.BytesIO()
    # safetensors and parquet are already dense: storing them is as small and much faster
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in MODEL_FILES:
            if (src / name).is_file():
                z.write(src / name, f"model/{name}",
                        compress_type=zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED)
    data = buffer.getvalue()
    if out is None:
        return data
    target = Path(out)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as err:
        raise ModelFileError(f"Could not write {target}: {err.strerror or err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def unzip_model(source: str | os.PathLike | bytes | io.IOBase, dest: str | os.PathLike) -> Path:
    """Unpack a model zip (a path, bytes or a file object) into the folder ``dest``;
    returns ``dest``. :class:`ModelFileError` says what is wrong with a bad zip."""
    raw = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with zipfile.ZipFile(raw) as z:
            members = _members(z)
            out = Path(dest)
            out.mkdir(parents=True, exist_ok=True)
            for info, name in members:
                with z.open(info) as f, open(out / name, "wb") as g:
                    shutil.copyfileobj(f, g)
    except zipfile.BadZipFile:
        raise ModelFileError("The file is not a zip of a saved model (not a zip file)") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as err:
        raise ModelFileError(f"The model zip could not be unpacked ({err})") from None
    return out


def _members(z: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    files = [i for i in z.infolist() if not i.is_dir()]
    picked: dict[str, zipfile.ZipInfo] = {}
    folders = set()
    for info in files:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue  # archivers' metadata
        if path.name not in MODEL_FILES:
            continue  # nothing else is read, so nothing else is unpacked
        if path.is_absolute() or ".." in path.parts or len(path.parts) > 2:
            raise ModelFileError(f"The model zip holds an unsafe path: {info.filename}")
        folders.add(path.parts[0] if len(path.parts) == 2 else "")
        picked[path.name] = info
    if len(folders) > 1:
        raise ModelFileError("The model zip holds more than one model folder; zip one saved model")
    missing = [f for f in REQUIRED if f not in picked]
    if missing:
        raise ModelFileError(f"The zip is not a saved model: {', '.join(missing)} missing "
                             "(zip the folder written by train --save, or use Download model)")
    total = sum(i.file_size for i in picked.values())
    if total > MAX_UNPACKED:
        raise ModelFileError(f"The model zip unpacks to {total / 1024**3:.1f} GiB, more than the "
                             f"{MAX_UNPACKED / 1024**3:.0f} GiB allowed")
    return [(info, name) for name, info in picked.items()]


def load_model(source: str | os.PathLike | bytes | io.IOBase):
    """A :class:`~mtl.train.TrainedModel` from a saved model folder, a zip of one, or
    a zip's bytes or file object (an upload)."""
    from .train.model_io import TrainedModel

    if isinstance(source, (bytes, bytearray, io.IOBase)) or hasattr(source, "read"):
        with tempfile.TemporaryDirectory(prefix="mtl-model-") as tmp:
            return TrainedModel.load(unzip_model(source, Path(tmp) / "model"))
    path = Path(source)
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ModelFileError(f"{path} is neither a saved model folder nor a zip of one")
        with tempfile.TemporaryDirectory(prefix="mtl-model-") as tmp:
            # load() reads every file into memory, so the unpacked copy can go at once
            return TrainedModel.load(unzip_model(path, Path(tmp) / "model"))
    return TrainedModel.load(path)
