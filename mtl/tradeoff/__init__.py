"""Trade-offs between tasks: weight sweeps and Pareto fronts, the preference-
conditioned explorer, and relevance-versus-efficiency curves."""

from .curves import CurveResult, alpha_from_fusion, curve_for_model, efficiency_relevance_curve
from .pareto import hypervolume, no_skill_reference, objective, objective_name, pareto_mask
from .sweep import ConditionedExplorer, SweepPoint, SweepResult, conditioned_front, sweep, sweep_steps, weight_grid

__all__ = [
    "ConditionedExplorer", "CurveResult", "SweepPoint", "SweepResult", "alpha_from_fusion", "conditioned_front",
    "curve_for_model",
    "efficiency_relevance_curve", "hypervolume", "no_skill_reference", "objective", "objective_name",
    "pareto_mask", "sweep", "sweep_steps", "weight_grid",
]
