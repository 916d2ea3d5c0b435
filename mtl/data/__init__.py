"""Data: read, validate, infer column roles, split, encode, simulate."""

from .dataset import InteractionData, Part, PreparedData, find_leaks, from_frame, load, prepare
from .derive import DerivedLabel, apply_derived, parse_derived
from .io import read_table
from .schema import RoleOverrides, Schema, infer_schema
from .split import SPLITS, SplitSpec, split_indices
from .suggest import TaskSuggestion, suggest_tasks

__all__ = [
    "DerivedLabel", "InteractionData", "Part", "PreparedData", "RoleOverrides", "SPLITS", "Schema", "SplitSpec",
    "TaskSuggestion", "apply_derived", "find_leaks", "from_frame", "infer_schema", "load", "parse_derived", "prepare",
    "read_table", "split_indices", "suggest_tasks",
]
