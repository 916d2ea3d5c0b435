"""Default tasks for a dataset: the ones a practitioner would start with, and why.

Taking the first three 0/1 columns picks whatever the file lists first: on a
KuaiRand log that is ``is_click, is_like, is_follow``, and ``is_follow`` is positive
on 0.14% of rows, so its metrics are noise, while ``long_view`` (31%) is left out.
:func:`suggest_tasks` instead

1. keeps labels the user derived (``liked = rating >= 4``): they were made to be tasks;
2. keeps binary labels with enough positives to learn and measure
   (:data:`MIN_RATE` of labelled rows and :data:`MIN_POSITIVES` rows, either class),
   and regression labels with a spread;
3. mixes **engagement** (click, view, play: attention captured) with **value**
   (like, long view, follow, rating, watch time: what the user got out of it), the
   trade-off the product is about: the best-balanced engagement label, then value
   labels, up to :data:`MAX_TASKS`; negative feedback (hate, skip, report) last;
4. says why for every label, chosen or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import DataError
from .dataset import InteractionData, _numeric_label
from .schema import named_like_id

if TYPE_CHECKING:
    from .samples import Sample

MAX_TASKS = 3
#: Rarest usable class share of a binary label, and fewest rows of its rarer class.
MIN_RATE = 0.01
MIN_POSITIVES = 50

_NEGATIVE = re.compile(r"hate|dislike|skip|report|block|unfollow|negative|complain|churn", re.I)
_VALUE = re.compile(r"like|long|follow|share|forward|comment|collect|save|favou?rite|fav|purchase|buy|order|"
                    r"convert|rating|rate|stars|watch|play_?time|dwell|stay|complete|finish|subscribe|good|"
                    r"liked|revenue|gmv|spend|add_?to_?cart|cart", re.I)
_ENGAGEMENT = re.compile(r"click|view|play|open|impression|visit|enter|tap|expose|read", re.I)


@dataclass
class TaskSuggestion:
    """Suggested tasks and, for every label, a short reason (chosen or not)."""

    tasks: list[str]
    reasons: dict[str, str] = field(default_factory=dict)
    #: What to do when there is too little to choose from (one usable label).
    hint: str = ""

    def summary(self) -> str:
        """One sentence per chosen task, for a caption or a CLI line."""
        return "; ".join(f"{t}: {self.reasons[t]}" for t in self.tasks)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"label": list(self.reasons), "suggested": [c in self.tasks for c in self.reasons],
                             "why": list(self.reasons.values())})


def _family(name: str) -> str:
    if _NEGATIVE.search(name):
        return "negative"
    if _VALUE.search(name):  # before engagement: long_view, play_time are value
        return "value"
    if _ENGAGEMENT.search(name):
        return "engagement"
    return "other"


_FAMILY_WORDS = {"engagement": "an engagement signal (attention captured)",
                 "value": "a value signal (what the user got out of it)",
                 "negative": "negative feedback", "other": "an outcome"}


def suggest_tasks(data: InteractionData, max_tasks: int = MAX_TASKS) -> TaskSuggestion:
    """The tasks to train by default on ``data``, with a reason for every label."""
    schema, frame = data.schema, data.frame
    reasons: dict[str, str] = {}
    usable: dict[str, float] = {}  # label -> balance (higher is better)
    for col, kind in schema.labels.items():
        s = frame[col]
        family = _family(col)
        labelled = int(s.notna().sum())
        if named_like_id(col):
            reasons[col] = ("named like an id: an identifier is not an outcome, so it is never a default task "
                            "(choose it yourself if it really is one)")
            continue
        try:
            _numeric_label(frame, col, kind)  # the check training makes: infinite or too large values
        except DataError as err:
            reasons[col] = f"not usable as a task as it is: {err}"
            continue
        if kind == "binary":
            num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else s.astype(float)
            positives = int((num == 1).sum())
            rate = positives / labelled if labelled else 0.0
            rare = min(positives, labelled - positives)
            share = f"{rate:.1%} positive" if min(rate, 1 - rate) >= 0.01 else f"{rate:.2%} positive"
            if labelled == 0 or min(rate, 1 - rate) < MIN_RATE or rare < MIN_POSITIVES:
                reasons[col] = (f"{share} ({positives:,} of {labelled:,} rows): too rare to learn and measure as a "
                                "default task; add it yourself if it matters")
                continue
            reasons[col] = f"{share}, {_FAMILY_WORDS[family]}"
            usable[col] = min(rate, 1 - rate)
        elif kind == "regression":
            num = pd.to_numeric(s, errors="coerce")
            if labelled < MIN_POSITIVES or not num.std() > 0:
                reasons[col] = "too few distinct values to learn"
                continue
            reasons[col] = f"a numeric outcome on {labelled / len(frame):.0%} of rows, {_FAMILY_WORDS[family]}"
            usable[col] = 0.25  # as useful as a well-balanced 0/1 label, after those
        else:
            reasons[col] = f"{s.nunique()} classes, {_FAMILY_WORDS[family]}"
            usable[col] = 0.05  # multiclass: only when nothing else is there

    chosen: list[str] = []
    derived = [c for c in schema.derived if c in usable]
    for c in derived:
        reasons[c] += "; you derived it"
    chosen += derived[:max_tasks]

    def best(family: str | None, kinds=("binary", "regression", "multiclass")) -> list[str]:
        cols = [c for c in usable if c not in chosen and schema.labels[c] in kinds
                and (family is None or _family(c) == family)]
        # Binary before regression before multiclass, then the most balanced.
        order = {"binary": 0, "regression": 1, "multiclass": 2}
        return sorted(cols, key=lambda c: (order[schema.labels[c]], -usable[c]))

    if not any(_family(c) == "engagement" for c in chosen):
        chosen += best("engagement")[:1]
    for family in ("value", "engagement", "other", "negative"):
        chosen += best(family)[: max_tasks - len(chosen)]
    # In the file's order, so sliders and tables list tasks as the data does.
    chosen = [c for c in schema.labels if c in chosen[:max_tasks]]
    if not chosen and schema.labels:  # nothing usable: the first label, so training can say why it fails
        chosen = [next(iter(schema.labels))]
    for c in reasons:
        if c in usable and c not in chosen:
            reasons[c] += f"; not among the first {max_tasks} (add it if you want it)"
    hint = ""
    if len([c for c in chosen if c in usable]) < 2:
        numeric = [c for c in schema.labels if schema.labels[c] == "regression"]
        example = f"liked={numeric[0]}>=4" if numeric else "name=column>=value"
        hint = ("Fewer than two usable labels: derive 0/1 labels from a numeric outcome for multi-task learning "
                f"(Data page, or --derive {example} on the command line).")
    return TaskSuggestion(chosen, reasons, hint)


def sample_tasks(data: InteractionData, sample: Sample | None) -> list[str] | None:
    """A bundled sample's curated tasks, while they apply (no derived labels, all present)."""
    if sample is None or not sample.tasks or data.schema.derived:
        return None
    return list(sample.tasks) if all(t in data.schema.labels for t in sample.tasks) else None


def suggested_tasks(data: InteractionData, sample: Sample | None = None,
                    suggestion: TaskSuggestion | None = None) -> list[str]:
    """A sample's curated tasks, else :func:`~mtl.data.suggest.suggest_tasks`'s
    (``suggestion``, when already computed)."""
    curated = sample_tasks(data, sample)
    if curated is not None:
        return curated
    return (suggestion or suggest_tasks(data)).tasks
