"""Keep runs: a workspace folder of finished and stopped trainings, comparisons and
sweeps, indexed by SQLite (:class:`RunStore`), and results as JSON documents
(:mod:`mtl.store.documents`)."""

from .documents import (
    DocumentError,
    describe_data,
    describe_model_data,
    from_document,
    kind_of,
    to_document,
    training_from_model,
)
from .workspace import (
    ENV,
    VISITOR_ENV,
    Listing,
    RunInfo,
    RunStore,
    StoredRun,
    StoreError,
    is_run_id,
    is_visitor_key,
    new_visitor_key,
    package_versions,
    visitor_mode,
    workspace_path,
)

__all__ = [
    "ENV", "VISITOR_ENV", "DocumentError", "Listing", "RunInfo", "RunStore", "StoreError", "StoredRun",
    "describe_data", "describe_model_data", "from_document", "is_run_id", "is_visitor_key", "kind_of", "new_visitor_key",
    "package_versions", "to_document", "training_from_model", "visitor_mode", "workspace_path",
]
