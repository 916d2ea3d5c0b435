"""Keep runs: a workspace folder of finished and stopped trainings, comparisons and
sweeps, indexed by SQLite (:class:`RunStore`), and results as JSON documents
(:mod:`mtl.store.documents`)."""

from .documents import DocumentError, describe_data, from_document, kind_of, to_document
from .workspace import (
    ENV,
    Listing,
    RunInfo,
    RunStore,
    StoredRun,
    StoreError,
    new_visitor_key,
    package_versions,
    workspace_path,
)

__all__ = [
    "ENV", "DocumentError", "Listing", "RunInfo", "RunStore", "StoreError", "StoredRun", "describe_data",
    "from_document", "kind_of", "new_visitor_key", "package_versions", "to_document", "workspace_path",
]
