"""split_indices: random, time and leave-users-out splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl.data import SplitSpec, split_indices
from mtl.errors import ConfigError, DataError

N = 1000


def _check_partition(parts, n):
    train, valid, test = parts
    for p in parts:
        assert np.all(np.diff(p) > 0)  # sorted, no repeats
    allrows = np.concatenate(parts)
    assert len(allrows) == n
    assert np.array_equal(np.sort(allrows), np.arange(n))
    assert not set(train) & set(valid) and not set(train) & set(test) and not set(valid) & set(test)


@pytest.fixture(scope="module")
def users():
    return np.random.default_rng(0).integers(0, 80, N)


# ------------------------------------------------------------------ random
def test_random_split_is_a_partition_with_the_fractions():
    parts = split_indices(N, SplitSpec("random", (0.6, 0.25, 0.15), seed=3))
    _check_partition(parts, N)
    assert [len(p) for p in parts] == pytest.approx([600, 250, 150], abs=2)


def test_random_split_deterministic_by_seed():
    a = split_indices(N, SplitSpec("random", seed=5))
    b = split_indices(N, SplitSpec("random", seed=5))
    c = split_indices(N, SplitSpec("random", seed=6))
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[2], c[2])


def test_random_split_is_shuffled():
    train, valid, test = split_indices(N, SplitSpec("random"))
    assert test.min() < N // 2 < test.max()  # not just the last rows


# ------------------------------------------------------------------ time
def test_time_split_orders_the_parts_in_time():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 10**6, N)
    train, valid, test = parts = split_indices(N, SplitSpec("time", (0.7, 0.15, 0.15)), time=t)
    _check_partition(parts, N)
    assert t[train].max() <= t[valid].min()
    assert t[valid].max() <= t[test].min()
    assert [len(p) for p in parts] == pytest.approx([700, 150, 150], abs=3)


def test_time_split_never_splits_equal_timestamps():
    t = np.repeat(np.arange(37), 27)[: N]  # 37 distinct times, many ties
    np.random.default_rng(2).shuffle(t)
    n = len(t)
    train, valid, test = parts = split_indices(n, SplitSpec("time"), time=t)
    _check_partition(parts, n)
    assert t[train].max() < t[valid].min()
    assert t[valid].max() < t[test].min()
    assert not set(t[train]) & set(t[valid]) and not set(t[valid]) & set(t[test])


def test_time_split_with_all_rows_at_one_time_fails_clearly():
    with pytest.raises(DataError, match="time split leaves only 0 rows for validation"):
        split_indices(100, SplitSpec("time"), time=np.zeros(100))


def test_time_split_cutoffs():
    t = np.arange(100)
    train, valid, test = split_indices(100, SplitSpec("time", cutoffs=(49, 79)), time=t)
    assert np.array_equal(train, np.arange(50))
    assert np.array_equal(valid, np.arange(50, 80))
    assert np.array_equal(test, np.arange(80, 100))
    with pytest.raises(DataError, match="leaves only 0 rows for test"):
        split_indices(100, SplitSpec("time", cutoffs=(49, 200)), time=t)


def test_time_split_does_not_depend_on_the_seed():
    t = np.random.default_rng(3).integers(0, 500, N)
    a = split_indices(N, SplitSpec("time", seed=1), time=t)
    b = split_indices(N, SplitSpec("time", seed=2), time=t)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_time_split_needs_a_time_column():
    with pytest.raises(DataError, match="needs a timestamp column"):
        split_indices(N, SplitSpec("time"))


def test_time_split_with_missing_numeric_time():
    t = np.arange(100, dtype=float)
    t[17] = np.nan
    with pytest.raises(DataError, match="missing values"):
        split_indices(100, SplitSpec("time"), time=t)


def test_time_split_with_datetime_strings():
    times = pd.date_range("2024-01-01", periods=100, freq="h")
    shuffled = np.random.default_rng(4).permutation(100)
    s = pd.Series(times[shuffled].strftime("%Y-%m-%d %H:%M"))
    train, valid, test = parts = split_indices(100, SplitSpec("time"), time=s)
    _check_partition(parts, 100)
    parsed = pd.to_datetime(s)
    assert parsed[train].max() < parsed[valid].min() and parsed[valid].max() < parsed[test].min()
    assert [len(p) for p in parts] == [80, 10, 10]
    # Real datetime values give the same split.
    same = split_indices(100, SplitSpec("time"), time=pd.Series(times[shuffled]))
    for x, y in zip(parts, same):
        assert np.array_equal(x, y)


def test_time_split_with_datetime_strings_and_cutoffs():
    s = pd.Series(pd.date_range("2024-01-01", periods=100, freq="h").strftime("%Y-%m-%d %H:%M"))
    train, valid, test = split_indices(100, SplitSpec("time", cutoffs=("2024-01-03", "2024-01-04")), time=s)
    assert s[train.max()] == "2024-01-03 00:00" and s[valid.min()] == "2024-01-03 01:00"
    assert s[valid.max()] == "2024-01-04 00:00" and s[test.min()] == "2024-01-04 01:00"
    with pytest.raises(DataError, match="cut-off 'soon' is not a time"):
        split_indices(100, SplitSpec("time", cutoffs=("2024-01-03", "soon")), time=s)


@pytest.mark.parametrize("cutoffs", ["20240103,20240104", "2024-01-03,2024-01-04", "2024-01-03 00:00, 20240104"])
@pytest.mark.parametrize("column", ["yyyymmdd", "epoch_s", "epoch_ms", "text"])
def test_time_split_cutoffs_as_dates_for_any_time_column(cutoffs, column):
    """A cut-off written as 20240103 or 2024-01-03 means that date, whatever the time
    column holds: yyyymmdd numbers (KuaiRand's `date`), epoch seconds or
    milliseconds, or date-time text."""
    from mtl.data.split import parse_cutoffs

    times = pd.date_range("2024-01-01", periods=120, freq="h", tz="UTC")
    epoch_s = (times - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(1, "s")
    t = {"yyyymmdd": pd.Series(times.strftime("%Y%m%d").astype(int)), "epoch_s": pd.Series(epoch_s),
         "epoch_ms": pd.Series(epoch_s * 1000), "text": pd.Series(times.strftime("%Y-%m-%d %H:%M"))}[column]
    train, valid, test = split_indices(120, SplitSpec("time", cutoffs=parse_cutoffs(cutoffs)), time=t)
    day = times.normalize()
    end_train = pd.Timestamp("2024-01-03", tz="UTC")
    if column == "yyyymmdd":  # whole days: the cut-off day belongs to the earlier part
        assert day[train].max() == end_train and day[valid].max() == pd.Timestamp("2024-01-04", tz="UTC")
    else:  # instants: up to midnight of the cut-off
        assert times[train].max() == end_train and times[valid].max() == pd.Timestamp("2024-01-04", tz="UTC")
    assert times[valid].min() > times[train].max() and times[test].min() > times[valid].max()


def test_time_split_cutoff_errors():
    from mtl.data.split import parse_cutoffs

    t = np.arange(100)
    with pytest.raises(ConfigError, match="Give two cut-offs"):
        parse_cutoffs("20240103")
    with pytest.raises(ConfigError, match="must be later than the first"):
        split_indices(100, SplitSpec("time", cutoffs=(79, 49)), time=t)
    with pytest.raises(ConfigError, match="belong to the time split"):
        split_indices(100, SplitSpec("random", cutoffs=(49, 79)), time=t)
    with pytest.raises(DataError, match="cut-off 'later' is not a time"):
        split_indices(100, SplitSpec("time", cutoffs=("20240103", "later")), time=t + 1_700_000_000)


def test_unparseable_timestamp_names_the_row():
    s = pd.Series(pd.date_range("2024-01-01", periods=50, freq="D").strftime("%Y-%m-%d"))
    s[22] = "yesterday"
    with pytest.raises(DataError, match=r"not a time at row 23: 'yesterday'") as info:
        split_indices(50, SplitSpec("time"), time=s)
    assert info.value.row == 22


# ------------------------------------------------------------------ users
def test_user_split_holds_out_whole_users(users):
    train, valid, test = parts = split_indices(N, SplitSpec("user", seed=1), users=users)
    _check_partition(parts, N)
    tu, vu, su = set(users[train]), set(users[valid]), set(users[test])
    assert not tu & vu and not tu & su and not vu & su
    assert len(tu) == pytest.approx(0.8 * 80, abs=1)
    again = split_indices(N, SplitSpec("user", seed=1), users=users)
    other = split_indices(N, SplitSpec("user", seed=2), users=users)
    assert all(np.array_equal(x, y) for x, y in zip(parts, again))
    assert not np.array_equal(parts[2], other[2])


def test_user_split_needs_users():
    with pytest.raises(DataError, match="needs a user id column"):
        split_indices(N, SplitSpec("user"))
    with pytest.raises(DataError, match="at least 3 distinct users"):
        split_indices(N, SplitSpec("user"), users=np.arange(N) % 2)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("n", [0, 5, 29])
def test_too_few_rows(n):
    with pytest.raises(DataError, match=f"Only {n} rows"):
        split_indices(n, SplitSpec("random"))


@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.2), (0.9, 0.1, 0.0), (1.2, -0.1, -0.1), (0.5, 0.5)])
def test_bad_fractions(fractions):
    with pytest.raises(ConfigError, match="three positive numbers summing to 1"):
        split_indices(N, SplitSpec("random", fractions=fractions))


def test_unknown_method():
    with pytest.raises(ConfigError, match="Unknown split 'kfold'; choose one of: random, time, user"):
        split_indices(N, SplitSpec("kfold"))


def test_split_spec_round_trip():
    spec = SplitSpec("time", (0.7, 0.2, 0.1), seed=4, cutoffs=(1, 2), column="date")
    assert SplitSpec.from_dict(spec.to_dict()) == spec
    assert SplitSpec.from_dict(SplitSpec().to_dict()) == SplitSpec()
