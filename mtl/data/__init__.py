"""Data: read, validate, infer column roles, split, encode, simulate."""

from .dataset import InteractionData, Part, PreparedData, find_leaks, from_frame, load, prepare
from .io import read_table
from .schema import RoleOverrides, Schema, infer_schema
from .split import SPLITS, SplitSpec, split_indices

__all__ = [
    "InteractionData", "Part", "PreparedData", "RoleOverrides", "SPLITS", "Schema", "SplitSpec", "find_leaks",
    "from_frame", "infer_schema", "load", "prepare", "read_table", "split_indices",
]
