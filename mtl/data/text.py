"""Item text (titles, tags) as numeric item features, for items never seen in training.

An item id's embedding is learned from the item's own interactions, so a new item
(cold start) gets the out-of-vocabulary embedding and the model knows nothing about
it beyond its other features. Its title still says a lot: "The Hunger Games (The
Hunger Games, #1)" is close to "Catching Fire (The Hunger Games, #2)". Following the
usual latent-semantic-analysis recipe, :func:`text_features` turns a text column of the
item catalogue into a few dense numbers per item: TF-IDF weights of words and word
pairs (scikit-learn's ``TfidfVectorizer``, sublinear term frequencies), reduced by a
truncated SVD (``TruncatedSVD``) to ``n_components`` directions.

No label is used, so fitting on every item's text, including items that appear only
in validation or test rows, leaks nothing: a new item's title is known when it is
added to the catalogue. :func:`add_text_features` joins the numbers to the rows as
item-level numeric features (``<column>_svd0`` ...), so training, saved models and
recommendations use them like any other item feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError

#: Components kept by default: enough for series, authors and genres words, few
#: enough for a few thousand titles.
N_COMPONENTS = 16
MAX_COMPONENTS = 256


def parse_text_option(text: str) -> tuple[str, int]:
    """``"title"`` or ``"title:32"`` -> (column, components)."""
    column, _, k = text.partition(":")
    column = column.strip()
    if not column:
        raise ConfigError(f"Name the text column for text features, e.g. title or title:16; got '{text}'")
    if not k.strip():
        return column, N_COMPONENTS
    try:
        n = int(k)
    except ValueError:
        raise ConfigError(f"The number of text components must be a whole number, e.g. {column}:16; got '{k}'") from None
    return column, n


def text_features(texts: pd.Series, n_components: int = N_COMPONENTS, *, seed: int = 0,
                  prefix: str | None = None) -> pd.DataFrame:
    """Dense features of ``texts`` (one per item, index kept): TF-IDF + truncated SVD.

    Columns ``<prefix>_svd0`` ... (``prefix`` defaults to the series name), scaled to
    unit variance so they sit beside standardized numeric features. Missing texts get
    zeros. Raises :class:`ConfigError` for a bad ``n_components`` and
    :class:`DataError` when the texts hold no words.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
            or not 1 <= n_components <= MAX_COMPONENTS:
        raise ConfigError(f"The number of text components must be from 1 to {MAX_COMPONENTS}, got {n_components}")
    prefix = prefix or str(texts.name or "text")
    values = texts.fillna("").astype(str)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(values) >= 50 else 1, sublinear_tf=True,
                                 strip_accents="unicode", max_features=50_000)
    try:
        tfidf = vectorizer.fit_transform(values)
    except ValueError:  # an empty vocabulary: no words at all
        raise DataError(f"The text column '{prefix}' holds no words to build text features from",
                        column=prefix) from None
    # The SVD needs fewer components than terms; tiny catalogues get fewer directions.
    k = max(1, min(n_components, tfidf.shape[1] - 1, len(values) - 1))
    if k < 1 or tfidf.shape[1] < 2:
        dense = np.zeros((len(values), 1))
    else:
        dense = TruncatedSVD(n_components=k, random_state=seed).fit_transform(tfidf)
    std = dense.std(axis=0)
    dense = dense / np.where(std > 0, std, 1.0)
    return pd.DataFrame(dense.astype(np.float32), index=texts.index,
                        columns=[f"{prefix}_svd{j}" for j in range(dense.shape[1])])


def add_text_features(data, column: str, n_components: int = N_COMPONENTS, *, seed: int = 0):
    """``data`` (an :class:`~mtl.data.InteractionData`) with numeric item features
    built from its text ``column`` (e.g. ``title``), one text per item id."""
    from .dataset import InteractionData
    from .schema import Schema

    schema = data.schema
    if column not in data.frame.columns:
        raise DataError(f"Text column '{column}' is not in the data", column=column)
    if not schema.item:
        raise DataError("Text features describe items; this data has no item id column", column=column)
    if column in schema.labels:
        raise DataError(f"'{column}' is a label; text features are built from item text such as titles or tags",
                        column=column)
    catalogue = data.frame[[schema.item, column]].dropna(subset=[schema.item])
    catalogue = catalogue.drop_duplicates(subset=[schema.item], keep="first").set_index(schema.item)[column]
    feats = text_features(catalogue, n_components, seed=seed, prefix=column)
    clash = [c for c in feats.columns if c in data.frame.columns]
    if clash:
        raise DataError(f"The data already has a column '{clash[0]}'; text features were added already?",
                        column=clash[0])
    joined = feats.reindex(data.frame[schema.item].to_numpy())
    joined.index = data.frame.index
    frame = pd.concat([data.frame, joined], axis=1)
    new = Schema.from_dict(schema.to_dict())
    for c in feats.columns:
        new.numeric.append(c)
        new.side[c] = "item"
        new.notes[c] = f"numeric feature: text feature of '{column}' (TF-IDF + SVD, {feats.shape[1]} components)"
    return InteractionData(frame, new, data.name, data.user_table, data.item_table)
