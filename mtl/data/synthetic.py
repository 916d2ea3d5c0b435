"""Simulated short-video feed logs with a known ground truth.

The generative story
--------------------
A short-video app has *users* and *videos* (items). Every video belongs to one
topic (``item_category``: Cooking, Travel, Gaming, ...) and has a hidden position
in a small "taste space" close to its topic's centre. Every user has a hidden taste
vector in the same space (a mix of a few favourite topics), an *activity level*
(heavy users see far more videos than casual ones) and a personal tendency to click.
Each video also has two hidden qualities drawn together with a chosen correlation:
its **appeal** (how tempting the thumbnail and title are; very appealing videos get
click-bait titles such as "You won't believe ...") and its **quality** (how good it
is once you watch it). The app shows videos to users (at random, by popularity, or
personalised by taste). For each impression the user first decides whether to
click; the click probability rises with the video's appeal and with how well it
matches the user's taste. Only after a click can the user watch (``watch_time``),
watch long enough to count as a *long view* (at least 18 seconds), *like* the video
or *rate* it 1-5, and these outcomes depend mostly on quality and taste match, not
on appeal. So **clicks follow appeal while likes and long views follow quality**:
when appeal and quality are weakly (or negatively) correlated, a feed ranked by
predicted clicks alone fills up with tempting but disappointing videos. This is the
"efficiency paradox" that multi-task learning tries to balance: the efficiency
tasks (click, watch time) and the relevance tasks (like, long view, rating) pull in
different directions. Because the data are simulated, the *true* probabilities that
generated every label are known and stored in the oracle columns ``true_click``,
``true_like`` and ``true_long_view`` (project convention: a ``true_<task>`` column is
never a feature). Each is exactly P(label = 1 | user, item, time), i.e. given
everything observable about the impression, and the labels are drawn from exactly
these probabilities. So ``true_<task>`` is the Bayes-optimal score for a model that
uses the user, the item and the time, and :func:`bayes_auc` is the best AUC such a
model can reach (up to sampling noise). The per-impression noise that no model can
observe (mood, context, ...; see ``task_noise``) is integrated out of the truth: it
makes the probabilities flatter and so lowers :func:`bayes_auc`, rather than being
hidden inside it. (Time does not change the probabilities; it only orders the log.)

Details
-------
With ``s = task_noise`` and ``k(s) = sqrt(1 + pi s^2 / 8)``:

* ``p_click = sigmoid((a0 + user_bias + 0.9 appeal + 0.7 match) / k(s))`` (the
  appeal term scaled by ``appeal_strength``, the match terms of every outcome by
  ``match_strength``; both 1 by default; ``click_offset`` is added to ``a0``).
* ``p_like | click = sigmoid((b0 + user_like_bias + 1.1 quality + 0.6 match
  - 0.25 appeal) / k(s))`` (click-bait slightly disappoints; the quality term scaled
  by ``quality_strength``, ``like_offset`` added to ``b0``).
* ``item_properties=True`` adds each video's appeal and quality as two observable
  feature columns, ``item_appeal`` and ``item_quality`` (for a lesson whose model
  reads them directly instead of learning them per item id).
* Dividing a logit by ``k(s)`` is what averaging it over unobserved N(0, s^2) noise
  does (the probit-style approximation ``E[sigmoid(x + s Z)] ~ sigmoid(x / k(s))``);
  the simulator *defines* the probabilities this way and draws ``click`` and
  ``like`` from them, so they are exact, not approximate.
* ``log(watch_time) = mu + c * logistic noise`` with ``mu = w0 + 0.45 quality +
  0.35 match`` and ``c = 0.55 k(s / 1.1)`` (0.55 at ``s = 0``, 0.63 at ``s = 1``:
  the logistic noise of scale 0.55 and N(0, (s/2)^2) noise folded into one
  logistic); a heavy-tailed, log-logistic watch time, capped at 900 s and truncated
  to 0.1 s. ``long_view`` is ``watch_time >= 18 s``, so ``p_long_view | click =
  sigmoid((mu - log 18) / c)`` exactly.
* ``rating`` is an ordinal cut of ``0.9 quality + 0.5 match`` plus noise of standard
  deviation ``sqrt(0.49 + 0.16 s^2)``, part of which is shared with the like decision
  (likes and high ratings go together). There is no ``true_rating`` column.
* Given the user and the item, the click, like and watch-time draws are independent,
  so ``true_like = p_click * p_like|click`` and ``true_long_view = p_click *
  p_long_view|click`` are the exact unconditional probabilities; ``like``,
  ``long_view`` are 0 and ``watch_time``, ``rating`` are missing (NaN) when there was
  no click.
* ``task_noise`` is the scale of the per-impression noise that no model sees (mood,
  context, ...). It is integrated out of ``true_*``: more noise means flatter
  probabilities, labels that depend less on user and item properties, and a lower
  :func:`bayes_auc`. ``task_noise=0`` gives the sharpest probabilities (the labels
  are still random draws).

Everything is vectorised numpy and deterministic given the seed; separate random
streams are used for topics, users, items, exposure, outcomes and timestamps, so
e.g. changing ``n_impressions`` keeps the same users and items.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

try:  # Let the CLI/app catch simulation errors as user-facing errors when available.
    from mtl.errors import ConfigError as _BaseError
except Exception:  # pragma: no cover - keep the simulator usable on its own
    _BaseError = Exception


class SimulationConfigError(_BaseError, ValueError):
    """An invalid simulation setting (a :class:`ValueError`)."""


EXPOSURES: tuple[str, ...] = ("random", "popular", "personalized")

#: 2024-01-01 00:00:00 UTC, the start of the simulated log.
START_TIMESTAMP = 1_704_067_200
#: A long view is a watch of at least this many seconds (as in KuaiRand).
LONG_VIEW_SECONDS = 18.0

COLUMNS: tuple[str, ...] = (
    "user_id",
    "item_id",
    "timestamp",
    "item_category",
    "item_title",
    "user_activity",
    "click",
    "like",
    "long_view",
    "watch_time",
    "rating",
    "true_click",
    "true_like",
    "true_long_view",
)

# --- model coefficients (tuned so that, with the defaults, clicks are ~30-45%,
# likes ~2-5% and long views ~20-35% of impressions) ---------------------------
_CLICK_INTERCEPT = -1.2
_CLICK_APPEAL = 0.9
_CLICK_MATCH = 0.7
_LIKE_INTERCEPT = -3.95
_LIKE_QUALITY = 1.1
_LIKE_MATCH = 0.6
_LIKE_APPEAL = -0.25
_WATCH_INTERCEPT = math.log(LONG_VIEW_SECONDS) + 0.3
_WATCH_QUALITY = 0.45
_WATCH_MATCH = 0.35
_WATCH_SCALE = 0.55  # scale of the logistic noise on log watch time (task_noise=0)
_LOGISTIC_TO_SD1 = math.sqrt(3.0) / math.pi  # standard logistic -> standard deviation 1
_RATING_CUTS = np.array([-1.1, -0.35, 0.5, 1.35])
_EXPLORATION = 0.1  # share of personalized impressions drawn uniformly at random
_N_CANDIDATES = 32  # candidates scored per personalized impression
_PERSONALIZED_TEMPERATURE = 1.0
_ZIPF_EXPONENT = 0.9

# Relative traffic per hour of day (UTC), evenings busiest.
_HOURLY = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 11, 11, 10, 7, 4],
    dtype=float,
)

# --- vocabulary for readable categories and titles ----------------------------
_TOPICS: dict[str, tuple[str, ...]] = {
    "Cooking": ("garlic pasta", "ramen", "sourdough bread", "fried rice", "chocolate cake",
                "tacos", "curry", "pancakes", "dumplings", "salad"),
    "Travel": ("Tokyo", "Lisbon", "the Alps", "Iceland", "night train", "Bali",
               "street food tour", "budget hostel", "road trip", "hidden beach"),
    "Gaming": ("speedrun", "Minecraft build", "boss fight", "retro console", "open-world RPG",
               "indie game", "esports final", "GPU upgrade", "co-op raid", "pixel art game"),
    "Pets": ("golden retriever", "kitten", "parrot", "hamster", "rescue dog", "cat tower",
             "puppy training", "bunny", "aquarium", "dog park"),
    "Fitness": ("home workout", "push-ups", "marathon training", "yoga flow", "kettlebell",
                "core workout", "HIIT session", "stretching", "deadlift", "morning run"),
    "Music": ("guitar riff", "piano cover", "beat making", "drum solo", "vinyl collection",
              "violin", "karaoke", "synth jam", "album review", "street busker"),
    "Comedy": ("prank", "stand-up bit", "office sketch", "dad joke", "fail compilation",
               "parody song", "roommate skit", "celebrity impression", "blooper reel",
               "awkward date"),
    "Science": ("volcano model", "black hole", "chemistry experiment", "Mars rover", "DNA",
                "quantum physics", "slime experiment", "telescope", "robot arm",
                "weather balloon"),
    "Fashion": ("thrift haul", "streetwear fit", "capsule wardrobe", "sneaker collection",
                "vintage jacket", "outfit check", "tailoring", "runway look", "denim",
                "accessories"),
    "News": ("election recap", "market update", "weather alert", "tech launch",
             "city council", "science headline", "sports headline", "local festival",
             "traffic report", "policy explainer"),
    "DIY": ("bookshelf", "tiny house", "woodworking", "epoxy table", "wall shelf",
            "bike repair", "cabinet makeover", "garden bench", "lamp", "tool wall"),
    "Sports": ("basketball dunk", "soccer goal", "tennis rally", "skateboard trick",
               "surf session", "golf swing", "boxing round", "climbing route",
               "cricket catch", "ski run"),
    "Beauty": ("skincare routine", "makeup look", "hair braid", "nail art", "eyeliner",
               "curly hair", "sunscreen", "lipstick", "face mask", "perfume"),
    "Tech": ("smartphone", "laptop", "mechanical keyboard", "smart home", "coding setup",
             "drone", "VR headset", "home server", "earbuds", "AI tool"),
    "Dance": ("hip-hop choreo", "ballet", "salsa", "viral dance", "breakdance", "tap dance",
              "K-pop cover", "contemporary piece", "swing dance", "line dance"),
    "Education": ("math trick", "history lesson", "language tip", "study routine",
                  "exam prep", "grammar rule", "geography quiz", "memory technique",
                  "essay tip", "physics problem"),
    "Finance": ("budgeting", "index funds", "side hustle", "credit score", "saving challenge",
                "crypto", "tax tip", "frugal living", "first paycheck", "retirement plan"),
    "Cars": ("engine swap", "car detailing", "EV road trip", "classic car", "drift",
             "oil change", "off-road trail", "supercar", "car wash", "dashcam"),
    "Gardening": ("tomatoes", "houseplant", "balcony garden", "compost", "bonsai",
                  "seedlings", "raised bed", "orchid", "herb garden", "lawn"),
    "Art": ("watercolor", "portrait sketch", "clay sculpture", "digital painting",
            "calligraphy", "mural", "linocut", "charcoal drawing", "comic page", "origami"),
}
CATEGORY_NAMES: tuple[str, ...] = tuple(_TOPICS)

_ADJECTIVES = ("easy", "quick", "budget", "ultimate", "cozy", "honest", "lazy", "pro",
               "weekend", "simple", "surprising", "classic")
_NUMBERS = ("2", "3", "4", "5", "6", "7", "8", "10", "12", "15", "20", "30")
_PLAIN_TEMPLATES = (
    "{n}-minute {a} {s}",
    "{a} {s} for beginners, part {n}",
    "{n} {a} {s} tips",
    "my {a} {s} week: day {n}",
    "{a} {s} in {n} seconds",
    "{a} {s} tutorial #{n}",
    "trying {a} {s} for {n} days",
    "{a} {s} explained in {n} steps",
    "{n} {s} mistakes to avoid",
    "a {a} {s} vlog (episode {n})",
    "behind the scenes: {a} {s}",
    "ranking {n} {a} {s} ideas",
    "{a} {s} Q&A with {n} answers",
    "{n} reasons I love {a} {s}",
)
_BAIT_TEMPLATES = (
    "You won't believe this {s}!",
    "{s} gone WRONG (not clickbait)",
    "SHOCKING {s} secret they hide",
    "I tried {s} and THIS happened",
    "Nobody expected this {s}...",
    "{n} {s} hacks that will blow your mind",
    "Why everyone is OBSESSED with {s}",
    "The {s} trick experts hate",
    "Watch till the end: {s}",
    "STOP doing {s} like this!",
)


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of :func:`simulate`. Invalid values raise :class:`ValueError`."""

    n_users: int = 2000
    n_items: int = 5000
    n_impressions: int = 100_000
    n_categories: int = 12
    appeal_quality_corr: float = 0.2  # corr(item appeal -> clicks, item quality -> likes, long views, ratings), in [-1, 1]
    task_noise: float = 1.0  # unobserved per-impression noise, integrated out of true_* (higher = flatter, lower bayes_auc)
    exposure: str = "personalized"  # "random", "popular" (Zipf-like) or "personalized" (softmax of taste match, with exploration)
    latent_dim: int = 8
    days: int = 14  # timestamps spread over this many days, so a time split works
    seed: int = 0
    # Scenario knobs for lessons (mtl.lessons); the defaults give the feed described above.
    click_gate: bool = True  # False: every impression is watched (an autoplay feed), so like/long view/watch/rating need no click
    click_offset: float = 0.0  # added to the click logit: positive = more clicks (1.2 gives about half of the impressions)
    like_offset: float = 0.0  # added to the like logit: negative = sparser likes (-2 gives ~4x fewer)
    match_strength: float = 1.0  # scales the user-item taste match in every outcome (0 = only appeal and quality matter)
    appeal_strength: float = 1.0  # scales appeal's pull on the click (0 = clicks ignore appeal: click rates flatter across videos)
    quality_strength: float = 1.0  # scales quality's pull on the like (larger: likes follow quality more surely)
    item_properties: bool = False  # True: add each video's appeal and quality as feature columns (item_appeal, item_quality)
    outcome_coupling: float = 0.0  # correlation in [-1, 1] of the unobserved per-impression drivers of click and like (negative: a click makes a like less likely); marginals and true_* unchanged

    def __post_init__(self) -> None:
        for name in ("n_users", "n_items", "n_impressions", "n_categories", "latent_dim", "days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise SimulationConfigError(
                    f"{name} must be a positive integer, got {value!r}."
                )
            if value < 1:
                raise SimulationConfigError(f"{name} must be at least 1, got {value}.")
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SimulationConfigError(f"seed must be a non-negative integer, got {seed!r}.")
        corr = self.appeal_quality_corr
        if isinstance(corr, bool) or not isinstance(corr, (int, float, np.number)) \
                or not math.isfinite(corr) or not -1.0 <= corr <= 1.0:
            raise SimulationConfigError(
                f"appeal_quality_corr must be a number between -1 and 1, got {corr!r}."
            )
        noise = self.task_noise
        if isinstance(noise, bool) or not isinstance(noise, (int, float, np.number)) \
                or not math.isfinite(noise) or noise < 0:
            raise SimulationConfigError(
                f"task_noise must be a non-negative number, got {noise!r}."
            )
        if not isinstance(self.click_gate, (bool, np.bool_)):
            raise SimulationConfigError(f"click_gate must be True or False, got {self.click_gate!r}.")
        if not isinstance(self.item_properties, (bool, np.bool_)):
            raise SimulationConfigError(f"item_properties must be True or False, got {self.item_properties!r}.")
        for name in ("click_offset", "like_offset", "match_strength", "appeal_strength", "quality_strength"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not math.isfinite(value):
                raise SimulationConfigError(f"{name} must be a finite number, got {value!r}.")
        coupling = self.outcome_coupling
        if isinstance(coupling, bool) or not isinstance(coupling, (int, float, np.number)) \
                or not math.isfinite(coupling) or not -1.0 <= coupling <= 1.0:
            raise SimulationConfigError(
                f"outcome_coupling must be a number between -1 and 1, got {coupling!r}."
            )
        for name in ("match_strength", "appeal_strength", "quality_strength"):
            if getattr(self, name) < 0:
                raise SimulationConfigError(f"{name} must be non-negative, got {getattr(self, name)!r}.")
        if self.exposure not in EXPOSURES:
            raise SimulationConfigError(
                f"exposure must be one of {', '.join(repr(e) for e in EXPOSURES)}; "
                f"got {self.exposure!r}."
            )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _flatten(sd: float) -> float:
    """Divisor that averages N(0, sd^2) logit noise out of a sigmoid:
    ``E[sigmoid(x + sd * Z)] ~= sigmoid(x / _flatten(sd))`` (the probit-style
    approximation; off by at most 0.005 for sd = 1 and 0.015 for sd = 3). The simulator
    *defines* the probabilities this way and draws the labels from them, so they are
    exact for the simulated data."""
    return math.sqrt(1.0 + math.pi * sd * sd / 8.0)


def _category_names(n: int) -> list[str]:
    """``n`` readable topic names; beyond the built-in list, names get a number."""
    base = list(CATEGORY_NAMES)
    return [base[k % len(base)] + ("" if k < len(base) else f" {k // len(base) + 1}")
            for k in range(n)]


def _make_titles(rng: np.random.Generator, names: list[str], cat: np.ndarray,
                 appeal: np.ndarray) -> np.ndarray:
    """One readable, deterministic title per item; tempting items look click-baity."""
    n = len(cat)
    bait = rng.random(n) < _sigmoid(3.0 * (appeal - 1.2))
    subj = rng.integers(0, 10, n)
    adj = rng.integers(0, len(_ADJECTIVES), n)
    num = rng.integers(0, len(_NUMBERS), n)
    tpl_plain = rng.integers(0, len(_PLAIN_TEMPLATES), n)
    tpl_bait = rng.integers(0, len(_BAIT_TEMPLATES), n)
    topics = [_TOPICS[CATEGORY_NAMES[k % len(CATEGORY_NAMES)]] for k in range(len(names))]
    # One pass over items (n_items is small next to the impressions).
    titles = [
        names[c] + ": " + (_BAIT_TEMPLATES[tb] if b else _PLAIN_TEMPLATES[tp]).format(
            s=topics[c][s], a=_ADJECTIVES[a], n=_NUMBERS[m])
        for c, b, s, a, m, tp, tb in zip(cat.tolist(), bait.tolist(), subj.tolist(),
                                         adj.tolist(), num.tolist(), tpl_plain.tolist(),
                                         tpl_bait.tolist())
    ]
    # Capitalise the first letter after the "Topic: " prefix.
    titles = [t[: (i := t.index(": ") + 2)] + t[i].upper() + t[i + 1:] for t in titles]
    s = pd.Series(titles, dtype=object)
    dup = s.groupby(s).cumcount().to_numpy()
    out = s.to_numpy(dtype=object, copy=True)
    if dup.any():
        idx = np.flatnonzero(dup)
        out[idx] = [f"{out[i]} (part {d + 1})" for i, d in zip(idx.tolist(), dup[idx].tolist())]
    return out


def simulate(config: SimulationConfig | None = None, *, _part: int = 0, **overrides) -> pd.DataFrame:
    """Simulate a feed log; see the module docstring for the generative story.

    ``simulate(n_users=500, seed=3)`` is the same as
    ``simulate(SimulationConfig(n_users=500, seed=3))``; keyword overrides replace
    fields of ``config`` (or of the default configuration).

    Returns one row per impression, sorted by ``timestamp``, with the columns
    listed in :data:`COLUMNS`.
    """
    if config is None:
        config = SimulationConfig()
    elif not isinstance(config, SimulationConfig):
        raise SimulationConfigError(
            f"config must be a SimulationConfig or None, got {type(config).__name__}."
        )
    if overrides:
        valid = [f.name for f in dataclasses.fields(SimulationConfig)]
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise SimulationConfigError(
                f"unknown simulation setting(s) {', '.join(unknown)}; "
                f"valid settings are: {', '.join(valid)}."
            )
        config = dataclasses.replace(config, **overrides)
    cfg = config
    n_u, n_i, n_imp, n_cat, d = (cfg.n_users, cfg.n_items, cfg.n_impressions,
                                 cfg.n_categories, cfg.latent_dim)
    sigma = float(cfg.task_noise)
    rho = float(cfg.appeal_quality_corr)

    streams = np.random.SeedSequence(int(cfg.seed)).spawn(7)
    if _part:  # another chunk of the same world (write_chunked): new exposure, outcome and time draws
        streams[3:6] = np.random.SeedSequence([int(cfg.seed), int(_part)]).spawn(3)
    rng_topic, rng_user, rng_item, rng_expo, rng_out, rng_time, rng_title = (
        np.random.default_rng(s) for s in streams
    )

    # Topics: a centre in taste space and a share of the catalogue each.
    centres = rng_topic.standard_normal((n_cat, d))
    topic_share = rng_topic.lognormal(0.0, 0.4, n_cat)
    topic_share /= topic_share.sum()

    # Items: topic, latent vector near the topic centre, appeal and quality.
    cat = rng_item.choice(n_cat, size=n_i, p=topic_share)
    item_vec = (centres[cat] + 0.7 * rng_item.standard_normal((n_i, d))) / math.sqrt(1.49)
    appeal = rng_item.standard_normal(n_i)
    quality = rho * appeal + math.sqrt(max(0.0, 1.0 - rho * rho)) * rng_item.standard_normal(n_i)
    popularity = 0.5 * appeal + rng_item.standard_normal(n_i)

    # Users: taste (a mix of a few favourite topics), activity, click/like biases.
    if n_cat > 1:
        mix = rng_user.dirichlet(np.full(n_cat, 0.3), size=n_u)
    else:
        mix = np.ones((n_u, 1))
    user_vec = 1.5 * (mix @ centres) + 0.6 * rng_user.standard_normal((n_u, d))
    activity = rng_user.lognormal(0.0, 0.8, n_u)
    click_bias = 0.5 * rng_user.standard_normal(n_u)
    like_bias = 0.5 * rng_user.standard_normal(n_u)

    # Standardise the taste match u.v to mean 0 / sd 1 over random (user, item) pairs.
    pu = rng_user.integers(0, n_u, 4096)
    pi = rng_user.integers(0, n_i, 4096)
    raw = np.einsum("ij,ij->i", user_vec[pu], item_vec[pi])
    m_mean, m_std = float(raw.mean()), float(raw.std())
    m_std = m_std if m_std > 1e-9 else 1.0

    # Exposure: who sees what.
    users = rng_expo.choice(n_u, size=n_imp, p=activity / activity.sum())
    if cfg.exposure == "random":
        items = rng_expo.integers(0, n_i, n_imp)
    elif cfg.exposure == "popular":
        rank = np.empty(n_i, dtype=np.int64)
        rank[np.argsort(-popularity, kind="stable")] = np.arange(n_i)
        w = (rank + 1.0) ** -_ZIPF_EXPONENT
        items = rng_expo.choice(n_i, size=n_imp, p=w / w.sum())
    else:  # personalized: softmax over a uniform candidate set (Gumbel-max), plus exploration
        items = np.empty(n_imp, dtype=np.int64)
        uv32 = user_vec.astype(np.float32)
        iv32 = item_vec.astype(np.float32)
        chunk = 16_384
        for start in range(0, n_imp, chunk):
            stop = min(n_imp, start + chunk)
            cand = rng_expo.integers(0, n_i, (stop - start, _N_CANDIDATES))
            score = np.einsum("cd,ckd->ck", uv32[users[start:stop]], iv32[cand])
            score = (score - m_mean) / (m_std * _PERSONALIZED_TEMPERATURE)
            score += rng_expo.gumbel(size=score.shape).astype(np.float32)
            items[start:stop] = cand[np.arange(stop - start), score.argmax(axis=1)]
        explore = rng_expo.random(n_imp) < _EXPLORATION
        items[explore] = rng_expo.integers(0, n_i, int(explore.sum()))

    # Outcomes. ``true_*`` is exactly P(label = 1 | user, item): the per-impression
    # noise (scale ``sigma``, unobservable) is integrated out of every probability,
    # and the labels are drawn from exactly those probabilities.
    match = (np.einsum("ij,ij->i", user_vec[users], item_vec[items]) - m_mean) / m_std
    if cfg.match_strength != 1.0:
        match = float(cfg.match_strength) * match
    a, q = appeal[items], quality[items]
    flatten = _flatten(sigma)  # a logit plus N(0, sigma^2) noise, averaged out
    p_click = _sigmoid((_CLICK_INTERCEPT + float(cfg.click_offset) + click_bias[users] + _CLICK_APPEAL * float(cfg.appeal_strength) * a
                        + _CLICK_MATCH * match) / flatten)
    like_logit = (_LIKE_INTERCEPT + float(cfg.like_offset) + like_bias[users] + _LIKE_QUALITY * float(cfg.quality_strength) * q
                  + _LIKE_MATCH * match + _LIKE_APPEAL * a) / flatten
    p_like_c = _sigmoid(like_logit)
    mu = _WATCH_INTERCEPT + _WATCH_QUALITY * q + _WATCH_MATCH * match
    # Log watch time = mu + watch_scale * standard logistic: the logistic noise of
    # scale _WATCH_SCALE plus N(0, (sigma / 2)^2) noise folded into one logistic.
    watch_scale = _WATCH_SCALE * _flatten(0.5 * sigma / _WATCH_SCALE)
    p_long_c = _sigmoid((mu - math.log(LONG_VIEW_SECONDS)) / watch_scale)

    u_click = rng_out.random(n_imp)
    like_noise = rng_out.logistic(size=n_imp)  # like <=> like_logit + noise > 0
    watch_noise = rng_out.logistic(size=n_imp)
    rating_noise = rng_out.standard_normal(n_imp)
    if cfg.outcome_coupling:
        # Gaussian copula: keeps both marginals (so true_* stay exact), couples the draws.
        from scipy.special import expit, logit, ndtr, ndtri

        c = float(cfg.outcome_coupling)
        eps = 1e-12
        z_click = ndtri(np.clip(u_click, eps, 1 - eps))  # low = clicked
        z_like = ndtri(np.clip(expit(like_noise), eps, 1 - eps))  # high = liked
        z_like = -c * z_click + math.sqrt(max(0.0, 1.0 - c * c)) * z_like
        like_noise = logit(np.clip(ndtr(z_like), eps, 1 - eps))
    clicked = u_click < p_click
    # Without the gate every impression is watched, whatever the click.
    watched = clicked if cfg.click_gate else np.ones(n_imp, dtype=bool)
    like = watched & (like_logit + like_noise > 0.0)  # P = sigmoid(like_logit) exactly
    watch = np.exp(mu + watch_scale * watch_noise)
    watch = np.clip(watch, 1.0, 900.0)
    # Truncate to 0.1 s (keeps ``watch_time >= 18`` <=> long view exactly, and
    # P(watch_time >= 18) = p_long_c: clipping and flooring do not move 18 s).
    watch = np.floor(watch * 10.0) / 10.0
    long_view = watched & (watch >= LONG_VIEW_SECONDS)
    # The rating shares the like decision's noise (standardised to sd 1), so likes
    # and high ratings go together beyond what quality and match explain.
    rating_latent = (0.9 * q + 0.5 * match + 0.4 * sigma * _LOGISTIC_TO_SD1 * like_noise
                     + 0.7 * rating_noise)
    rating = 1.0 + np.searchsorted(_RATING_CUTS, rating_latent).astype(float)
    watch = np.where(watched, watch, np.nan)
    rating = np.where(watched, rating, np.nan)
    p_watch = p_click if cfg.click_gate else 1.0

    # Timestamps: a uniform day, an hour following the daily traffic curve.
    day = rng_time.integers(0, cfg.days, n_imp)
    hour = rng_time.choice(24, size=n_imp, p=_HOURLY / _HOURLY.sum())
    second = rng_time.integers(0, 3600, n_imp)
    timestamp = START_TIMESTAMP + day * 86_400 + hour * 3_600 + second
    order = np.argsort(timestamp, kind="stable")

    names = np.array(_category_names(n_cat), dtype=object)
    titles = _make_titles(rng_title, list(names), cat, appeal)

    users, items = users[order], items[order]
    df = pd.DataFrame({
        "user_id": users.astype(np.int64),
        "item_id": items.astype(np.int64),
        "timestamp": timestamp[order].astype(np.int64),
        "item_category": names[cat[items]],  # str dtype on pandas 3, object on pandas 2
        "item_title": titles[items],
        "user_activity": np.round(activity[users], 4),
        "click": clicked[order].astype(np.int64),
        "like": like[order].astype(np.int64),
        "long_view": long_view[order].astype(np.int64),
        "watch_time": watch[order],
        "rating": rating[order],
        "true_click": np.round(p_click[order], 4),
        "true_like": np.round((p_watch * p_like_c)[order], 4),
        "true_long_view": np.round((p_watch * p_long_c)[order], 4),
    })
    if cfg.item_properties:
        # Observable item features (e.g. a thumbnail score and a quality score an editor
        # gave): a model can read them directly instead of learning them per item id.
        df["item_appeal"] = np.round(appeal[items], 4)
        df["item_quality"] = np.round(quality[items], 4)
    return df


def bayes_auc(df: pd.DataFrame, task: str) -> float:
    """ROC AUC of the oracle ``true_<task>`` probabilities against the ``task`` labels.

    ``true_<task>`` is P(label = 1 | user, item, time) and the labels were drawn from
    it, so this is the best AUC any model using the user, the item and the time can
    reach on ``df`` (up to sampling noise). Higher ``task_noise`` lowers it.
    """
    from sklearn.metrics import roc_auc_score

    oracle = f"true_{task}"
    missing = [c for c in (task, oracle) if c not in df.columns]
    if missing:
        raise ValueError(
            f"bayes_auc needs columns {task!r} and {oracle!r}; missing: {', '.join(missing)}."
        )
    y = df[task].to_numpy()
    keep = ~pd.isna(y)
    y = y[keep].astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError(f"bayes_auc: column {task!r} needs both 0 and 1 labels.")
    return float(roc_auc_score(y, df[oracle].to_numpy()[keep]))


def write(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` to ``path``: CSV (``.csv``), gzip-compressed CSV (``.gz``, e.g.
    ``.csv.gz``; byte-reproducible: level 9, mtime 0, no file name stored) or
    Parquet (``.parquet``/``.pq``). Parent folders are created. Returns the path."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        kind = "parquet"
    elif name.endswith(".gz"):
        kind = "gzip"
    elif name.endswith(".csv"):
        kind = "csv"
    else:
        raise ValueError(
            f"cannot tell the format of {str(path)!r}: use a name ending in .csv, "
            ".csv.gz or .parquet."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        df.to_parquet(path, index=False)
    else:
        text = df.to_csv(index=False, lineterminator="\n")
        data = text.encode("utf-8")
        if kind == "gzip":
            buf = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9,
                               mtime=0) as gz:
                gz.write(data)
            data = buf.getvalue()
        path.write_bytes(data)
    return path


__all__ = [
    "CATEGORY_NAMES",
    "COLUMNS",
    "EXPOSURES",
    "SimulationConfig",
    "SimulationConfigError",
    "bayes_auc",
    "simulate",
    "write",
    "write_chunked",
]


# ------------------------------------------------------- large logs, chunk by chunk
#: Impressions simulated at once by :func:`write_chunked` (about 0.5 GB of work memory).
CHUNK_ROWS = 1_000_000


def _narrow_int(high: int) -> str:
    """The narrowest signed integer type holding 0..``high``."""
    for kind in ("int8", "int16", "int32"):
        if high <= np.iinfo(kind).max:
            return kind
    return "int64"


def _parquet_schema(cfg: SimulationConfig):
    """Each column in its narrowest exact type: ids by the world's size, 0/1 labels as
    int8, measured values as float32 (watch time is in tenths of a second and ratings
    are 1-5, so float32 keeps them exactly; the ``true_*`` probabilities have 4 digits),
    text dictionary-encoded by Parquet itself."""
    import pyarrow as pa

    types = {
        "user_id": _narrow_int(cfg.n_users - 1), "item_id": _narrow_int(cfg.n_items - 1), "timestamp": "int64",
        "item_category": "string", "item_title": "string", "user_activity": "float32",
        "click": "int8", "like": "int8", "long_view": "int8", "watch_time": "float32", "rating": "float32",
        "true_click": "float32", "true_like": "float32", "true_long_view": "float32",
    }
    return pa.schema([(name, pa.type_for_alias(kind)) for name, kind in types.items()])


@dataclass
class WrittenLog:
    """What :func:`write_chunked` wrote: rows, distinct users and items seen, and the
    rate of each 0/1 label."""

    path: Path
    rows: int
    users: int
    items: int
    rates: dict[str, float]


def write_chunked(path: str | os.PathLike, config: SimulationConfig | None = None, *,
                  chunk_rows: int = CHUNK_ROWS, **overrides) -> WrittenLog:
    """Simulate like :func:`simulate` and write the log to ``path`` (CSV, CSV.gz or
    Parquet, as :func:`write`), ``chunk_rows`` impressions at a time, so a log of any
    size is written in bounded memory.

    Every chunk is the same world (users, items, topics: they depend on the seed and
    sizes only) with its own exposure, outcome and time draws. A log of at most
    ``chunk_rows`` impressions is exactly ``simulate(config)``; a longer one is sorted by
    time within each chunk, not across chunks (splits read the time column, not the
    row order). Parquet columns get their narrowest exact types (:func:`_parquet_schema`).
    """
    cfg = dataclasses.replace(config or SimulationConfig(), **overrides)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise SimulationConfigError(f"chunk_rows must be a positive integer, got {chunk_rows!r}.")
    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".parquet", ".pq", ".gz", ".csv")):
        raise ValueError(f"cannot tell the format of {str(path)!r}: use a name ending in .csv, "
                         ".csv.gz or .parquet.")
    path.parent.mkdir(parents=True, exist_ok=True)
    seen_users = np.zeros(cfg.n_users, dtype=bool)
    seen_items = np.zeros(cfg.n_items, dtype=bool)
    positives = dict.fromkeys(("click", "like", "long_view"), 0)
    tmp = path.with_name(path.name + ".part")  # a failed run leaves no half-written log under the real name
    try:
        with _ChunkSink(tmp, name, cfg) as sink:
            for part, start in enumerate(range(0, cfg.n_impressions, chunk_rows)):
                n = min(chunk_rows, cfg.n_impressions - start)
                df = simulate(dataclasses.replace(cfg, n_impressions=n), _part=part)
                seen_users[df["user_id"].to_numpy()] = True
                seen_items[df["item_id"].to_numpy()] = True
                for label in positives:
                    positives[label] += int(df[label].sum())
                sink.write(df)
                del df
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    rows = cfg.n_impressions
    return WrittenLog(path, rows, int(seen_users.sum()), int(seen_items.sum()),
                      {label: k / rows for label, k in positives.items()})


class _ChunkSink:
    """Appends simulated chunks to one file: a Parquet writer, or CSV text with one
    header (gzip level 9, mtime 0 and no stored name, as :func:`write`)."""

    def __init__(self, path: Path, name: str, cfg: SimulationConfig):
        self.path, self.cfg, self.parquet = path, cfg, name.endswith((".parquet", ".pq"))
        self.gzip = name.endswith(".gz")
        self._writer = self._file = None
        self._header = True

    def __enter__(self):
        if self.parquet:
            import pyarrow.parquet as pq

            self._schema = _parquet_schema(self.cfg)
            self._writer = pq.ParquetWriter(self.path, self._schema)
        else:
            raw = open(self.path, "wb")  # closed in __exit__
            self._file = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0)
                          if self.gzip else raw)
            self._raw = raw
        return self

    def write(self, df: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa

            self._writer.write_table(pa.Table.from_pandas(df, schema=self._schema, preserve_index=False))
        else:
            self._file.write(df.to_csv(index=False, header=self._header, lineterminator="\n").encode("utf-8"))
            self._header = False

    def __exit__(self, *_exc) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()
            if self._raw is not self._file:
                self._raw.close()
