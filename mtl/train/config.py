"""Training configuration: one small dataclass, JSON round-trippable.

Its field defaults are the project's defaults: the CLI's flags and the app's widgets
start from them (through :func:`mtl.setup.suggested_config`), so a default changes in
one place. :meth:`TrainConfig.validate` checks every setting before anything trains.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field

from ..data.split import SplitSpec
from ..errors import ConfigError
from ..models import available_interactions, available_num_embeddings
from ..models.base import ModelConfig
from ..models.layers import EMB_SIZINGS

#: Upper bounds of the sizes a configuration may ask for: far above anything useful
#: here, low enough that a typo is refused before memory is allocated.
MAX_EPOCHS = 10_000
MAX_BATCH = 1 << 20
MAX_EMB_DIM = 1024
MAX_WIDTH = 8192
MAX_EXPERTS = 64
MAX_LEVELS = 8
MAX_CROSS_LAYERS = 8
#: Seeds feed NumPy's generators, which take 0 <= seed < 2**32.
MAX_SEED = 2**32 - 1
PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    tasks: list[str]
    #: The user's task weights, ``{task: weight}`` (slider values; only ratios matter,
    #: see :mod:`mtl.weighting.preference`). ``None`` = equal.
    preference: dict[str, float] | None = None
    arch: str = "shared_bottom"
    weighting: str = "static"
    epochs: int = 10
    #: The largest default batch; :func:`mtl.setup.suggested_batch_size` halves it on
    #: small data so an epoch still has enough optimizer steps.
    batch_size: int = 2048
    lr: float = 3e-3
    weight_decay: float = 0.0
    #: Stop after this many epochs without a better validation score.
    patience: int = 2
    seed: int = 0
    device: str = "auto"
    #: ``"bf16"`` runs forward passes and losses under bfloat16 autocast (about twice the
    #: throughput on GPUs with bf16 units; weights, optimizer and metrics stay float32);
    #: ``"fp32"`` is full precision everywhere.
    precision: str = "fp32"
    #: Validation evaluations per epoch (more gives livelier charts on large data).
    evals_per_epoch: int = 1
    #: Conditioned models only: concentration of the Dirichlet that task weights are
    #: drawn from during training (1 = uniform over all weightings).
    pref_alpha: float = 1.0
    #: Record gradient diagnostics (task-gradient cosines and norms on the shared
    #: representation, applied weights) every this many batches; 0 turns them off.
    #: They never change training (see ``mtl.train.diagnostics``).
    diagnostics_every: int = 50
    #: Add user-history features to the inputs (:mod:`mtl.data.history`: each user's
    #: share of, and label rates on, the item's topic in their training impressions, and
    #: the taste they share with the item's other viewers). Read when the data are
    #: prepared; a saved model keeps the fitted tables in its encoder.
    history: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    split: SplitSpec = field(default_factory=SplitSpec)
    #: Derived labels of the data (``"liked=rating>=4"``), recorded so a saved model
    #: can compute its labels again from raw rows (the trainer fills it from the data).
    derive: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise :class:`ConfigError` with one message naming the first bad setting."""
        from ..weighting import check_preference

        if not self.tasks:
            raise ConfigError("Choose at least one task (a label column) to train")
        if len(set(self.tasks)) != len(self.tasks):
            raise ConfigError(f"Each task can be trained once; repeated: {', '.join(_repeated(self.tasks))}")
        check_preference(self.preference, list(self.tasks))
        _whole("epochs", self.epochs, 1, MAX_EPOCHS)
        _whole("batch size", self.batch_size, 1, MAX_BATCH)
        if not (_real(self.lr) and 0 < self.lr < 10):
            raise ConfigError(f"learning rate must be a small positive number, got {self.lr}")
        if not (_real(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight decay must be a finite number >= 0, got {self.weight_decay}")
        _whole("patience", self.patience, 1, MAX_EPOCHS)
        _whole("seed", self.seed, 0, MAX_SEED)
        _whole("evals_per_epoch", self.evals_per_epoch, 1, 1000)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        if self.model.conditioned and self.weighting != "static":
            raise ConfigError(
                "A preference-conditioned model draws its own task weights while training; "
                f"use the static weighting with it, not '{self.weighting}'"
            )
        if not (_real(self.pref_alpha) and self.pref_alpha > 0):
            raise ConfigError(f"pref_alpha must be a finite positive number, got {self.pref_alpha}")
        _whole("diagnostics_every (0 = off)", self.diagnostics_every, 0, 10**9)
        if not isinstance(self.history, bool):
            raise ConfigError(f"history must be true or false, got {self.history!r}")
        self._validate_model()
        self._validate_weighting()

    def _validate_model(self) -> None:
        m = self.model
        if m.emb_sizing not in EMB_SIZINGS:
            raise ConfigError(f"embedding sizing must be one of {', '.join(map(repr, EMB_SIZINGS))}, "
                              f"not '{m.emb_sizing}'")
        _whole("embedding size", m.emb_dim, 1, MAX_EMB_DIM)
        if not m.hidden:
            raise ConfigError("give at least one hidden layer size")
        for what, sizes in (("hidden", m.hidden), ("tower", m.tower)):
            for size in sizes:
                _whole(f"{what} layer size", size, 1, MAX_WIDTH)
        _whole("number of experts", m.n_experts, 1, MAX_EXPERTS)
        _whole("number of shared experts", m.n_shared_experts, 1, MAX_EXPERTS)
        _whole("number of experts per task", m.n_task_experts, 1, MAX_EXPERTS)
        _whole("number of PLE levels", m.n_levels, 1, MAX_LEVELS)
        _whole("input projection width (0 = none)", m.input_proj, 0, MAX_WIDTH)
        if isinstance(m.dropout, bool) or not isinstance(m.dropout, numbers.Real) or not 0 <= m.dropout < 1:
            raise ConfigError(f"dropout must be a number in [0, 1), got {m.dropout}")
        for what, value, choices in (("interaction", m.interaction, available_interactions()),
                                     ("numeric embedding", m.num_embedding, available_num_embeddings())):
            if not isinstance(value, str) or value not in choices:
                raise ConfigError(f"{what} must be one of {', '.join(choices)}, not '{value}'")
        _whole("number of cross layers", m.cross_layers, 1, MAX_CROSS_LAYERS)

    def _validate_weighting(self) -> None:
        """The method exists, its optional dependencies are installed, and the
        architecture shares the parameters a gradient method balances."""
        from ..models import available_models, get_model_class
        from ..weighting import check_available, get_weighting_class

        method = get_weighting_class(self.weighting)
        if method.needs_shared and not get_model_class(self.arch).shares_parameters:
            sharing = [name for name in available_models() if get_model_class(name).shares_parameters]
            raise ConfigError(
                f"{method.display_name()} balances the tasks' gradients on shared parameters, and the "
                f"'{self.arch}' architecture shares none; use it with an architecture that shares "
                f"({', '.join(sharing)}), or train single-task models with static weights"
            )
        check_available(self.weighting)  # after: no point installing a method that cannot run here

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        d["split"] = self.split.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        from ..weighting import as_preference

        d = dict(d)
        if "weights" in d:  # written before task weights were a mapping: a list in task order
            d["preference"] = as_preference(d.pop("weights"), list(d.get("tasks", [])))
        d["model"] = ModelConfig.from_dict(d.get("model", {}))
        d["split"] = SplitSpec.from_dict(d.get("split", {}))
        return cls(**d)


def _whole(what: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ConfigError(f"{what} must be a whole number from {low:,} to {high:,}, got {value}")


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _repeated(items) -> list[str]:
    return sorted({str(t) for t in items if list(items).count(t) > 1})
