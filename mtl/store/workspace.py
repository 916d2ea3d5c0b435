"""The run store: every finished or stopped training, comparison and sweep, kept in a
workspace folder on disk and indexed by SQLite.

Layout::

    mtl-workspace/
      index.sqlite            the index (WAL mode): one row per run, plus tags
      runs/<run id>/
        meta.json             name, kind, tags, owner, status, a summary for listings
        result.json           the full result (config, metrics, history, diagnostics)
        model/                the trained model (``TrainedModel.save``), when kept

The run folders are the truth and the index a cache of their ``meta.json``: a run is
written into a hidden temporary folder and renamed into place (atomic on one file
system), so a crash leaves either the whole run or nothing; listing reconciles the
index with the folders, so a run whose indexing failed, a folder copied in by hand or
a deleted index comes back by itself, and a damaged entry is skipped with a note.
Every operation opens its own short SQLite connection, so threads and processes can
write at the same time (SQLite serializes them; WAL lets readers continue).

Who sees what: a run may carry an ``owner`` (a visitor's private key, for a
shared-server mode) and a ``shared`` flag. Without a visitor every run is listed (a
local install, one person or one classroom). With one, a listing holds the runs
without an owner (prepared by the CLI or in the shared default), the visitor's own,
and shared runs the visitor has a link to (``include``); a visitor changes (renames,
tags, shares, deletes) only their own runs. A run on data its owner uploaded is saved
with ``private_data``: sharing it shares its numbers, charts and report, never its
model (a model holds the rows it was trained on: users, items, interactions).

The shared-server mode is switched on by ``MTL_VISITOR_MODE=1`` (:func:`visitor_mode`).
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import MTLError
from .documents import from_document, result_kind, status_of, to_document

ENV = "MTL_WORKSPACE"
#: Set to 1 (true, yes, on) to give each visitor of a shared server private runs.
VISITOR_ENV = "MTL_VISITOR_MODE"
DEFAULT = "mtl-workspace"
INDEX = "index.sqlite"
#: An unfinished save older than this is from a process that died: it is removed.
STALE_SECONDS = 3600
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL,
    status TEXT NOT NULL, owner TEXT, shared INTEGER NOT NULL DEFAULT 0, data_name TEXT,
    has_model INTEGER NOT NULL DEFAULT 0, summary TEXT NOT NULL DEFAULT '{}', mtime REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tags (run_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (run_id, tag));
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE INDEX IF NOT EXISTS tags_tag ON tags (tag);
"""


class StoreError(MTLError):
    """The workspace cannot be read or written (names the folder and what to do)."""


@dataclass
class RunInfo:
    """One stored run as listed: what a run-history table shows."""

    id: str
    kind: str
    name: str
    created: float
    status: str
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    shared: bool = False
    data_name: str | None = None
    has_model: bool = False
    #: A few headline numbers (see :func:`summarize`).
    summary: dict = field(default_factory=dict)

    @property
    def created_text(self) -> str:
        return datetime.fromtimestamp(self.created, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "name": self.name, "created": self.created,
                "created_text": self.created_text, "status": self.status, "tags": self.tags, "owner": self.owner,
                "shared": self.shared, "data_name": self.data_name, "has_model": self.has_model,
                "summary": self.summary}

    @classmethod
    def from_meta(cls, meta: dict) -> RunInfo:
        return cls(id=str(meta["id"]), kind=str(meta["kind"]), name=str(meta["name"]), created=float(meta["created"]),
                   status=str(meta["status"]), tags=[str(t) for t in meta.get("tags", [])], owner=meta.get("owner"),
                   shared=bool(meta.get("shared")), data_name=meta.get("data_name"),
                   has_model=bool(meta.get("has_model")), summary=dict(meta.get("summary") or {}))


@dataclass
class Listing:
    """A list of runs (newest first), notes on damaged entries that were skipped, and how
    many runs are being saved right now (not listed yet: nothing is wrong with them)."""

    runs: list[RunInfo]
    notes: list[str] = field(default_factory=list)
    saving: int = 0

    def __iter__(self) -> Iterator[RunInfo]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)


@dataclass
class StoredRun:
    """A run loaded back: its listing info, its result object (a ``TrainResult``,
    ``Comparison`` or ``SweepResult``) and its full document (``result.json``)."""

    info: RunInfo
    result: object
    document: dict
    path: Path

    @property
    def dataset(self) -> dict | None:
        return self.document.get("dataset")

    @property
    def model_path(self) -> Path | None:
        return self.path / "model" if (self.path / "model" / "model.json").exists() else None


def workspace_path(path: str | os.PathLike | None = None) -> Path:
    """The workspace folder: ``path``, else ``$MTL_WORKSPACE``, else ``./mtl-workspace``."""
    return Path(path or os.environ.get(ENV) or DEFAULT).expanduser()


def new_visitor_key() -> str:
    """A private key for one visitor of a shared server (unguessable, URL-safe)."""
    return secrets.token_urlsafe(16)


def is_visitor_key(text) -> bool:
    """Whether ``text`` can be a visitor key (URL-safe, 16 to 64 characters): anything
    else in an address is ignored rather than stored as an owner."""
    return isinstance(text, str) and 16 <= len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text)


def is_run_id(text) -> bool:
    """Whether ``text`` has the shape of a run id (a link's ``run=``), before any file is touched."""
    return (isinstance(text, str) and 0 < len(text) <= 64 and not text.startswith(".")
            and all(c.isalnum() or c in "-_" for c in text))


def visitor_mode() -> bool:
    """Whether the shared-server mode is on (``$MTL_VISITOR_MODE``: 1, true, yes or on)."""
    return os.environ.get(VISITOR_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def summarize(result) -> dict:
    """The headline numbers a listing shows without opening the run."""
    kind = result_kind(result)
    if kind == "training":
        cfg = result.config
        trained = getattr(result, "trained", None)
        out = {"tasks": list(cfg.tasks), "arch": cfg.arch, "weighting": cfg.weighting,
               "seconds": round(float(result.train_seconds), 2), "epochs": result.epochs_run, "seed": cfg.seed,
               "conditioned": bool(cfg.model.conditioned)}
        if trained is not None:  # what a page needs to know before loading the model
            out["users"] = bool(trained.schema.user and trained.users is not None)
        out["metrics"] = {t.name: [t.primary_metric, finite_or_none(result.test.get(t.name, {}).get(t.primary_metric))]
                          for t in result.tasks}
        return out
    if kind == "comparison":
        best = result.best()
        table = result.table()
        delta = None
        if best is not None:
            delta = finite_or_none(table.loc[table["method"] == best, "delta_m"].iloc[0])
        return {"tasks": [t.name for t in result.tasks], "arch": result.config.arch, "methods": list(result.methods),
                "seeds": list(result.seeds), "best": best, "best_delta_m": delta}
    out = {"tasks": [t.name for t in result.tasks], "points": len(result.points),
           "conditioned_points": len(result.conditioned)}
    if result.points:
        out["hypervolume"] = finite_or_none(result.hypervolume())
    return out


def finite_or_none(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _default_name(result) -> str:
    kind = result_kind(result)
    if kind == "training":
        return f"{result.config.arch} + {result.config.weighting}"
    if kind == "comparison":
        return f"compare {', '.join(result.methods)}"
    return f"sweep {' vs '.join(t.name for t in result.tasks)}"


def json_default(o):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def _write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _os_message(err: OSError, where: Path, doing: str) -> str:
    if err.errno == errno.ENOSPC:
        why = "the disk is full; free some space and try again"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"no permission to write there; choose a writable folder (--workspace DIR or ${ENV})"
    else:
        why = err.strerror or str(err)
    return f"Could not {doing} in the workspace {where}: {why}. Runs already stored are unchanged."


class RunStore:
    """A workspace of stored runs. Cheap to create (nothing is touched until used);
    safe to share between threads, and several processes may use one folder."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = workspace_path(path)
        self.runs_dir = self.path / "runs"
        self.index_path = self.path / INDEX

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # ------------------------------------------------------------ plumbing
    def _ensure(self) -> None:
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(_os_message(err, self.path, "create the folder")) from None
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"The workspace {self.path} is a file, not a folder")

    def check_writable(self) -> None:
        """Raise :class:`StoreError` now if runs cannot be saved here (before a long training)."""
        self._ensure()
        probe = self.runs_dir / f".tmp-probe-{secrets.token_hex(3)}"
        try:
            probe.mkdir()
            probe.rmdir()
        except OSError as err:
            raise StoreError(_os_message(err, self.path, "write")) from None

    def _connect(self) -> sqlite3.Connection:
        self._ensure()
        try:
            return _open(self.index_path)
        except sqlite3.DatabaseError as err:
            text = str(err).lower()
            if "not a database" not in text and "malformed" not in text:
                why = "it is busy; try again in a moment" if ("locked" in text or "busy" in text) else str(err)
                raise StoreError(f"Could not open the workspace index {self.index_path}: {why}") from None
        # The index is only a cache of the run folders: set a damaged one aside and rebuild it.
        aside = self.index_path.with_name(f"{INDEX}.damaged-{int(time.time())}")
        try:
            os.replace(self.index_path, aside)
            for extra in ("-wal", "-shm"):
                Path(f"{self.index_path}{extra}").unlink(missing_ok=True)
            return _open(self.index_path)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"The workspace index {self.index_path} is damaged and could not be rebuilt ({err})") from None

    def _run_dir(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise StoreError(f"'{run_id}' is not a run id")
        return self.runs_dir / run_id

    def _index(self, con: sqlite3.Connection, infos: Sequence[RunInfo], gone: Sequence[str] = ()) -> None:
        """Index ``infos`` and forget ``gone``, in one transaction."""
        con.execute("BEGIN IMMEDIATE")
        try:
            for run_id in [*gone, *(i.id for i in infos)]:
                con.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                con.execute("DELETE FROM tags WHERE run_id = ?", (run_id,))
            for info in infos:
                con.execute("INSERT INTO runs (id, kind, name, created, status, owner, shared, data_name, has_model, "
                            "summary, mtime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (info.id, info.kind, info.name, info.created, info.status, info.owner, int(info.shared),
                             info.data_name, int(info.has_model), json.dumps(info.summary, default=json_default),
                             _mtime(self._run_dir(info.id) / "meta.json")))
                con.executemany("INSERT OR IGNORE INTO tags (run_id, tag) VALUES (?, ?)",
                                [(info.id, t) for t in info.tags])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _read_meta(self, run_id: str) -> dict:
        path = self._run_dir(run_id) / "meta.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            RunInfo.from_meta(meta)  # every field a listing needs is there
        except FileNotFoundError:
            if path.parent.is_dir():
                raise StoreError(f"The run '{run_id}' is damaged (its meta.json is missing)") from None
            raise StoreError(f"No run '{run_id}' in the workspace {self.path}") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise StoreError(f"The run '{run_id}' is damaged (meta.json: {err})") from None
        if meta.get("id") != run_id:
            raise StoreError(f"The run '{run_id}' is damaged (its meta.json names '{meta.get('id')}')")
        return meta

    # ---------------------------------------------------------------- save
    def save(self, result, *, name: str | None = None, tags: Iterable[str] = (), dataset: dict | None = None,
             owner: str | None = None, shared: bool = False, model: bool = True, extra: dict | None = None,
             config=None, private_data: bool = False) -> RunInfo:
        """Store a :class:`~mtl.train.TrainResult`, :class:`~mtl.compare.Comparison`
        or :class:`~mtl.tradeoff.SweepResult`, with the trained model when it has one
        and ``model`` is true (a sweep's conditioned model). ``dataset`` is its data
        description (:func:`~mtl.store.describe_data`); ``extra`` any JSON the caller
        wants back (e.g. the app's page settings); ``config`` a sweep's base
        :class:`~mtl.train.TrainConfig` (for its report); ``private_data`` that the data was
        the owner's upload, so the model is never given to anyone else (module docstring).
        Returns the new run's info; raises
        :class:`StoreError` (nothing half-written is left) when the disk refuses."""
        kind = result_kind(result)
        status, why = status_of(result)
        created = time.time()
        run_id = f"{datetime.fromtimestamp(created, timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        trained = None
        if model:
            trained = result.trained if kind == "training" else (
                getattr(result.conditioned_result, "trained", None) if kind == "sweep" else None)
        clean_tags = _clean_tags(tags)
        info = RunInfo(id=run_id, kind=kind, name=(name or "").strip() or _default_name(result), created=created,
                       status=status, tags=clean_tags, owner=owner, shared=bool(shared),
                       data_name=(dataset or {}).get("name") or (getattr(trained, "data_name", None)),
                       has_model=trained is not None,
                       summary=dict(summarize(result), **({"private_data": True} if private_data else {})))
        doc = to_document(result, dataset, config)
        doc["status"], doc["status_reason"] = status, why
        doc["versions"] = package_versions()
        if extra:
            doc["extra"] = extra
        self._ensure()
        tmp = self.runs_dir / f".tmp-{run_id}"
        try:
            tmp.mkdir()
            (tmp / "result.json").write_text(json.dumps(doc, default=json_default), encoding="utf-8")
            if trained is not None:
                trained.save(tmp / "model")
            meta = dict(info.to_json(), versions=doc["versions"], private_data=bool(private_data))
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=json_default), encoding="utf-8")
            with open(tmp / "meta.json", encoding="utf-8") as f:
                os.fsync(f.fileno())
            os.rename(tmp, self.runs_dir / run_id)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreError(_os_message(err, self.path, "save the run")) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            con = self._connect()
            try:
                self._index(con, [info])
            finally:
                con.close()
        except (sqlite3.Error, StoreError):
            pass  # the run is safely on disk; the next listing indexes it
        return info

    # ---------------------------------------------------------------- read
    def list_runs(self, *, kind: str | None = None, tag: str | None = None, name: str | None = None,
                  visitor: str | None = None, include: Sequence[str] = (), limit: int | None = None) -> Listing:
        """Stored runs, newest first. ``kind`` (training, comparison, sweep), ``tag``
        and ``name`` (a case-insensitive part of the name) filter; ``visitor`` limits
        them to what that visitor may see (module docstring), ``include`` being ids
        of shared runs the visitor has links to. Damaged entries are skipped, each
        with a note in :attr:`Listing.notes`; runs still being written are counted
        in :attr:`Listing.saving`."""
        if not self.runs_dir.is_dir():
            return Listing([])
        con = self._connect()
        try:
            notes, saving = self._reconcile(con)
            where, params = [], []
            if kind:
                where.append("kind = ?")
                params.append(kind)
            if tag:
                where.append("id IN (SELECT run_id FROM tags WHERE tag = ?)")
                params.append(tag)
            if name:
                where.append("instr(lower(name), lower(?)) > 0")
                params.append(name)
            if visitor is not None:
                marks = ",".join("?" * len(include))
                where.append(f"(owner IS NULL OR owner = ?{f' OR (shared = 1 AND id IN ({marks}))' if include else ''})")
                params += [visitor, *include]
            sql = "SELECT id, kind, name, created, status, owner, shared, data_name, has_model, summary FROM runs"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY created DESC, id DESC"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            rows = con.execute(sql, params).fetchall()
            tags: dict[str, list[str]] = {}
            for run_id, t in con.execute("SELECT run_id, tag FROM tags ORDER BY tag"):
                tags.setdefault(run_id, []).append(t)
        except sqlite3.Error as err:
            raise StoreError(f"Could not read the workspace index {self.index_path}: {err}") from None
        finally:
            con.close()
        runs = [RunInfo(id=r[0], kind=r[1], name=r[2], created=r[3], status=r[4], tags=tags.get(r[0], []),
                        owner=r[5], shared=bool(r[6]), data_name=r[7], has_model=bool(r[8]), summary=json.loads(r[9]))
                for r in rows]
        return Listing(runs, notes, saving)

    def _reconcile(self, con: sqlite3.Connection) -> tuple[list[str], int]:
        """Bring the index in line with the run folders; notes on what was skipped, and
        how many saves are under way."""
        notes: list[str] = []
        saving = 0
        on_disk: dict[str, float] = {}
        now = time.time()
        with os.scandir(self.runs_dir) as entries:
            for e in entries:
                if e.name.startswith(".tmp-") or e.name.startswith(".trash-"):
                    age = now - _mtime(Path(e.path))
                    if age > STALE_SECONDS:  # a save or deletion whose process died: cleared
                        shutil.rmtree(e.path, ignore_errors=True)
                    elif e.name.startswith(".tmp-"):
                        # A save in progress (often the caller's own, from another thread): it is
                        # listed once written, a warning about it would alarm for nothing.
                        saving += 1
                    continue
                if e.name.startswith(".") or not e.is_dir():
                    continue
                on_disk[e.name] = _mtime(Path(e.path) / "meta.json")
        indexed = dict(con.execute("SELECT id, mtime FROM runs").fetchall())
        gone = [i for i in indexed if i not in on_disk]
        fresh = []
        for run_id, mtime in on_disk.items():
            if run_id in indexed and indexed[run_id] == mtime:
                continue
            try:
                fresh.append(RunInfo.from_meta(self._read_meta(run_id)))
            except StoreError as err:
                if not (self.runs_dir / run_id).is_dir():
                    continue  # deleted by someone else meanwhile: nothing to note
                notes.append(f"Skipped {run_id}: {str(err).rstrip('.')}.")
                if run_id in indexed:
                    gone.append(run_id)
        if gone or fresh:
            self._index(con, fresh, gone)
        return notes, saving

    def get(self, run_id: str, *, visitor: str | None = None) -> RunInfo:
        """A run's listing info (:class:`StoreError` when there is no such run, or
        ``visitor`` may not see it)."""
        info = RunInfo.from_meta(self._read_meta(run_id))
        if not _visible(info, visitor):
            raise StoreError(f"No run '{run_id}' in the workspace {self.path}")
        return info

    def load(self, run_id: str, *, visitor: str | None = None) -> StoredRun:
        """A run's result object and document (the model is loaded on request:
        :meth:`load_model`)."""
        info = self.get(run_id, visitor=visitor)
        path = self._run_dir(run_id)
        try:
            doc = json.loads((path / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise StoreError(f"The run '{run_id}' is damaged (result.json: {err})") from None
        try:
            result = from_document(doc)
        except MTLError as err:
            raise StoreError(f"The run '{run_id}' is damaged ({err})") from None
        return StoredRun(info, result, doc, path)

    def load_result(self, run_id: str, *, visitor: str | None = None, with_model: bool = True):
        """A run's result object; a training's ``trained`` model is attached when it was
        kept and ``with_model`` is true."""
        stored = self.load(run_id, visitor=visitor)
        if with_model and stored.info.kind == "training" and stored.model_path is not None:
            stored.result.trained = self.load_model(run_id, visitor=visitor)
        return stored.result

    def load_model(self, run_id: str, *, visitor: str | None = None):
        """A run's :class:`~mtl.train.TrainedModel` (:class:`StoreError` when it kept none)."""
        from ..train.model_io import TrainedModel

        return TrainedModel.load(self.model_dir(run_id, visitor=visitor))

    def model_dir(self, run_id: str, *, visitor: str | None = None) -> Path:
        """The folder of a run's saved model (for ``recommend --model`` and zips)."""
        meta = self._read_meta(run_id)
        info = RunInfo.from_meta(meta)
        if not _visible(info, visitor):
            raise StoreError(f"No run '{run_id}' in the workspace {self.path}")
        path = self._run_dir(run_id) / "model"
        if not info.has_model or not path.is_dir():
            raise StoreError(f"The run '{run_id}' ({info.name}) has no saved model")
        if meta.get("private_data") and visitor is not None and info.owner != visitor:
            raise StoreError(f"The run '{run_id}' ({info.name}) was trained on data its owner uploaded: its model "
                             "holds that data, so it stays with them (its numbers, charts and report are shared)")
        return path

    # -------------------------------------------------------------- change
    def _update(self, run_id: str, visitor: str | None, change) -> RunInfo:
        meta = self._read_meta(run_id)
        info = RunInfo.from_meta(meta)
        if not _mine(info, visitor):
            raise StoreError(f"No run '{run_id}' of yours in the workspace {self.path}")
        change(meta)
        info = RunInfo.from_meta(meta)
        try:
            _write_atomic(self._run_dir(run_id) / "meta.json", json.dumps(meta, indent=1, default=json_default))
        except OSError as err:
            raise StoreError(_os_message(err, self.path, "change the run")) from None
        con = self._connect()
        try:
            self._index(con, [info])
        finally:
            con.close()
        return info

    def rename(self, run_id: str, name: str, *, visitor: str | None = None) -> RunInfo:
        name = (name or "").strip()
        if not name:
            raise StoreError("A run's name cannot be empty")
        return self._update(run_id, visitor, lambda m: m.update(name=name))

    def tag(self, run_id: str, add: Iterable[str] = (), remove: Iterable[str] = (), *,
            visitor: str | None = None) -> RunInfo:
        """Add and remove tags (blank tags are ignored)."""
        add, drop = _clean_tags(add), set(_clean_tags(remove))

        def change(meta):
            meta["tags"] = [t for t in _clean_tags([*meta.get("tags", []), *add]) if t not in drop]

        return self._update(run_id, visitor, change)

    def share(self, run_id: str, shared: bool = True, *, visitor: str | None = None) -> RunInfo:
        """Let anyone with the run's id (a link) open it, or stop that."""
        return self._update(run_id, visitor, lambda m: m.update(shared=bool(shared)))

    def delete(self, run_id: str, *, visitor: str | None = None) -> RunInfo:
        """Remove a run and everything stored with it."""
        info = self.get(run_id, visitor=visitor)
        if not _mine(info, visitor):
            raise StoreError(f"No run '{run_id}' of yours in the workspace {self.path}")
        trash = self.runs_dir / f".trash-{run_id}-{secrets.token_hex(3)}"
        try:
            os.rename(self._run_dir(run_id), trash)  # atomic: listings never see half a run
        except FileNotFoundError:
            raise StoreError(f"No run '{run_id}' in the workspace {self.path}") from None
        except OSError as err:
            raise StoreError(_os_message(err, self.path, "delete the run")) from None
        shutil.rmtree(trash, ignore_errors=True)
        con = self._connect()
        try:
            self._index(con, [], [run_id])
        finally:
            con.close()
        return info


def _visible(info: RunInfo, visitor: str | None) -> bool:
    # A shared run is opened by its id (a link); listing it needs the id in ``include``.
    return visitor is None or info.owner is None or info.owner == visitor or info.shared


def _mine(info: RunInfo, visitor: str | None) -> bool:
    # Without a visitor (a local install, the CLI) every run can be changed; a visitor
    # changes only their own: not another's, nor the runs prepared for everyone.
    return visitor is None or info.owner == visitor


def _clean_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    return list(dict.fromkeys(t.strip() for t in tags if t and t.strip()))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA journal_mode = WAL")
        con.executescript(_SCHEMA)
        con.execute("SELECT count(*) FROM runs").fetchone()  # a damaged file fails here, not later
    except BaseException:
        con.close()
        raise
    return con


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape results (for reproducibility)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    # Read once per process: the package metadata takes ~0.1 s to read, at every saved run.
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("mtl-tradeoff-explorer", "torch", "numpy", "pandas", "scikit-learn", "torchjd", "plotly"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
