"""Training configuration: one small dataclass, JSON round-trippable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..data.split import SplitSpec
from ..errors import ConfigError
from ..models.base import ModelConfig


@dataclass
class TrainConfig:
    tasks: list[str]
    #: Task weights (slider values); scaled to sum to 1. ``None`` = equal.
    weights: list[float] | None = None
    arch: str = "shared_bottom"
    weighting: str = "static"
    epochs: int = 10
    batch_size: int = 1024
    lr: float = 2e-3
    weight_decay: float = 0.0
    #: Stop after this many epochs without a better validation score.
    patience: int = 2
    seed: int = 0
    device: str = "auto"
    #: Validation evaluations per epoch (more gives livelier charts on large data).
    evals_per_epoch: int = 1
    #: Conditioned models only: concentration of the Dirichlet that task weights are
    #: drawn from during training (1 = uniform over all weightings).
    pref_alpha: float = 1.0
    #: Record gradient diagnostics (task-gradient cosines and norms on the shared
    #: representation, effective weights) every this many batches; 0 turns them off.
    #: They never change training (see ``mtl.train.diagnostics``).
    diagnostics_every: int = 50
    model: ModelConfig = field(default_factory=ModelConfig)
    split: SplitSpec = field(default_factory=SplitSpec)
    #: Derived labels of the data (``"liked=rating>=4"``), recorded so a saved model
    #: can compute its labels again from raw rows (the trainer fills it from the data).
    derive: list[str] = field(default_factory=list)

    def validate(self) -> None:
        if self.epochs < 1:
            raise ConfigError("epochs must be at least 1")
        if self.batch_size < 1:
            raise ConfigError("batch size must be at least 1")
        if not (0 < self.lr < 10):
            raise ConfigError(f"learning rate must be a small positive number, got {self.lr}")
        if self.patience < 1:
            raise ConfigError("patience must be at least 1")
        if self.evals_per_epoch < 1:
            raise ConfigError("evals_per_epoch must be at least 1")
        if self.model.conditioned and self.weighting != "static":
            raise ConfigError(
                "A preference-conditioned model draws its own task weights while training; "
                f"use the static weighting with it, not '{self.weighting}'"
            )
        if self.pref_alpha <= 0:
            raise ConfigError("pref_alpha must be positive")
        if self.diagnostics_every < 0:
            raise ConfigError("diagnostics_every must be 0 (off) or a positive number of batches")
        self._validate_weighting()
        if self.model.emb_sizing not in ("fixed", "cardinality"):
            raise ConfigError(f"embedding sizing must be 'fixed' or 'cardinality', not '{self.model.emb_sizing}'")
        if self.model.emb_dim < 1 or any(h < 1 for h in (*self.model.hidden, *self.model.tower)):
            raise ConfigError("embedding and hidden sizes must be positive")

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
        d = dict(d)
        d["model"] = ModelConfig.from_dict(d.get("model", {}))
        d["split"] = SplitSpec.from_dict(d.get("split", {}))
        return cls(**d)
