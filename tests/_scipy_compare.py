"""Shared test helpers: run a call through scipy.ndimage and sepconv, compare what happened.

An :class:`Outcome` records a call's result or exception and its warnings;
the ``assert_*`` functions state what "as scipy does" means for each:

* refusals: an instance of scipy's exception class whose message *starts with*
  scipy's message (sepconv may name the argument and the fix after it), except
  where scipy's message is Python's own text for an expression scipy happens to
  evaluate on the bad value (:data:`ACCIDENTS`): there scipy's class, or a
  ``TypeError`` / ``ValueError`` naming the argument;
* warnings: the same categories, scipy's text first;
* results: the same dtype and shape and ``np.array_equal`` (NaN where scipy has NaN).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Beginnings of scipy messages that are Python's own words for an expression
#: scipy's code happens to evaluate on a bad value, not messages of scipy's.
ACCIDENTS = (
    "'<' not supported between instances",
    "'>' not supported between instances",
    "bad operand type for unary",
    "unsupported operand type(s)",
    "list indices must be integers",
    "list assignment index out of range",
    "only integer scalar arrays can be converted",
    "too many indices for array",
    "can't multiply sequence by non-int",
)


@dataclass
class Outcome:
    """What one call did: its result or its exception, and the warnings it gave."""

    result: Any = None
    error: BaseException | None = None
    warned: list[warnings.WarningMessage] = field(default_factory=list)

    def describe(self) -> str:
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}"
        return f"returned {getattr(self.result, 'dtype', type(self.result))}"


def outcome(func, *args, **kwargs) -> Outcome:
    """Call ``func`` and record what happened (every warning kept)."""
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            result = func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the exception is the subject
            return Outcome(error=exc, warned=list(warned))
    return Outcome(result=result, warned=list(warned))


def fresh(value: Any) -> Any:
    """A copy for one call (calls may write their arrays); read-only stays read-only."""
    if isinstance(value, np.ndarray):
        copied = value.copy(order="K")
        copied.flags.writeable = value.flags.writeable
        return copied
    return copy.copy(value) if isinstance(value, list) else value


def is_accident(error: BaseException) -> bool:
    return str(error).startswith(ACCIDENTS)


def assert_fails_like(ours: Outcome, theirs: Outcome, argument: str | None = None) -> None:
    """``ours`` raised as scipy's ``theirs`` did: its class, then its message first."""
    expected = theirs.error
    assert expected is not None
    assert ours.error is not None, f"scipy raised {theirs.describe()}; ours {ours.describe()}"
    got = ours.error
    if is_accident(expected):
        named = argument is None or argument.split("_")[0] in str(got)
        assert isinstance(got, type(expected)) or (
            isinstance(got, (TypeError, ValueError)) and named
        ), f"\nscipy: {theirs.describe()}\nours:  {ours.describe()}"
        return
    assert isinstance(got, type(expected)), (
        f"class differs\nscipy: {theirs.describe()}\nours:  {ours.describe()}"
    )
    assert str(got).startswith(str(expected)), (
        f"message does not start with scipy's\nscipy: {theirs.describe()}\nours:  {ours.describe()}"
    )


def assert_warns_like(ours: Outcome, theirs: Outcome) -> None:
    """The same warnings in the same order: scipy's category (or a subclass), its text first."""
    expected = [(w.category, str(w.message)) for w in theirs.warned]
    got = [(w.category, str(w.message)) for w in ours.warned]
    assert len(got) == len(expected), f"scipy warned {expected}, ours {got}"
    for (gc, gm), (ec, em) in zip(got, expected):
        assert issubclass(gc, ec) and gm.startswith(em), f"scipy warned {expected}, ours {got}"


def assert_same_array(ours: Any, theirs: np.ndarray) -> None:
    """Bit for bit: dtype, shape and values, NaN where scipy has NaN."""
    if not isinstance(theirs, np.ndarray):  # a NumPy scalar (morphological_gradient of 0-d)
        assert type(ours) is type(theirs), (type(ours), type(theirs))
        assert ours == theirs or (np.isnan(theirs) and np.isnan(ours)), (ours, theirs)
        return
    assert isinstance(ours, np.ndarray), type(ours)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    if not np.array_equal(ours, theirs, equal_nan=theirs.dtype.kind in "fc"):
        bad = np.argwhere(~_equal(ours, theirs))
        raise AssertionError(
            f"{len(bad)} of {theirs.size} values differ, first at {tuple(bad[0])}: "
            f"ours {ours[tuple(bad[0])]!r}, scipy {theirs[tuple(bad[0])]!r}"
        )


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    same = a == b
    if b.dtype.kind in "fc":
        same |= np.isnan(a) & np.isnan(b)
    return same


def assert_same_outcome(ours: Outcome, theirs: Outcome, argument: str | None = None) -> None:
    """Whatever scipy did (raise, warn, return), ours did the same."""
    if theirs.error is not None:
        assert_fails_like(ours, theirs, argument)
        return
    assert ours.error is None, f"scipy {theirs.describe()}; ours raised {ours.describe()}"
    assert_warns_like(ours, theirs)
    assert_same_array(ours.result, theirs.result)
