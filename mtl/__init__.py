"""MTL Trade-off Explorer: train, compare and explore multi-task recommender models."""

__version__ = "0.1.0"

from .errors import ConfigError, DataError, ModelFileError, MTLError

__all__ = ["ConfigError", "DataError", "MTLError", "ModelFileError", "__version__"]
