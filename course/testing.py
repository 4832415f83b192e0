"""Checks for the lab's answers, as its test cells use them: values, not types.

An answer is right when its values are. A number may be a Python int or float, a numpy scalar, or a
tensor or array of one element; a vector may be a tensor of any float dtype, a numpy array, a list or a
tuple; a tuple may be any sequence. Shapes and lengths are checked exactly: no broadcasting, and no
check passes on an empty answer. Each check raises AnswerError, an AssertionError whose message names the
answer and says what is wrong with it, and whose `public` message says only what the test asked for: no value,
shape or type of the answer. A hidden test's failure shows only that one (grading.judge), so nothing an answer
returns can carry a hidden test's inputs out through the feedback.
"""
import collections.abc
import hashlib
import math
import numbers
import os

import torch


SECRET_VARIABLE = "COURSE_HIDDEN_SECRET"  # set in the judge's environment only, by `make grade`


def hidden_seed(label):
    """A seed (an int below 2**32) for the data of a hidden test, fixed by `label` and the course's secret.

    `make grade` keeps a secret beside the gradebook (never released or committed) and gives it to the judge,
    where hidden tests run; elsewhere (the source notebook, nbval) there is none and the seed depends on the
    label alone. So the hidden cases of a course differ from those of the published source notebook, and a
    table of cases read off it, or leaked by an earlier submission of another course, answers nothing."""
    secret = os.environ.get(SECRET_VARIABLE, "")
    return int.from_bytes(hashlib.sha256(f"{secret}\0{label}".encode()).digest()[:4], "big")


def hidden_generator(label):
    """A torch.Generator seeded with hidden_seed(label)."""
    return torch.Generator().manual_seed(hidden_seed(label))


class AnswerError(AssertionError):
    """A failed check: str() says what was wrong with the answer; `public` only what the test asked for."""

    def __init__(self, message, public):
        super().__init__(message)
        self.public = public


def _kind(value):
    return type(value).__name__


def _native(value):
    """A numpy array or scalar of the other byte order (">f8" on this machine, as a FITS file gives) in the native
    one: torch reads only that. Anything else as it is."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(value, torch.Tensor) and getattr(dtype, "isnative", True) is False:
        return value.astype(dtype.newbyteorder("="))
    return value


def _tensor(value):
    """torch.as_tensor(value), with a list or tuple of Python floats read in float64: torch reads it as float32,
    which would round a correct answer's values to 7 digits."""
    t = torch.as_tensor(value)
    if isinstance(value, (list, tuple)) and t.is_floating_point():
        t = torch.as_tensor(value, dtype=torch.float64)
    return t


def _ordered(value, what, length, of):
    """Refuse what is not a sequence of `length` (`of`: "numbers" or "ints"): sets have no order to check."""
    if isinstance(value, collections.abc.Set):
        raise AnswerError(f"{what} must be a sequence of {length} {of} in order, got a {_kind(value)}, "
                          "which has no order: use a tuple or a list", f"{what} must be a sequence of {length} {of}")
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
        raise AnswerError(f"{what} must be a sequence of {length} {of}, got {_kind(value)}",
                          f"{what} must be a sequence of {length} {of}")
    if len(value) != length:
        raise AnswerError(f"{what} must have {length} entries, got {len(value)}", f"{what} must have {length} entries")


def as_number(value, what):
    """`value` as a Python float: a real number, or a tensor or array holding exactly one."""
    if isinstance(value, (bool, str)) or value is None:
        raise AnswerError(f"{what} must be a number, got {_kind(value)} {value!r:.40}", f"{what} must be a number")
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:
            raise AnswerError(f"{what} is too large for a float (past 1.8e308), got {_kind(value)}",
                              f"{what} must be a number") from None
    try:
        t = _tensor(_native(value))
    except (TypeError, ValueError, RuntimeError):
        raise AnswerError(f"{what} must be a number, got {_kind(value)}", f"{what} must be a number") from None
    if t.numel() != 1 or t.dtype == torch.bool or t.is_complex():
        raise AnswerError(f"{what} must be one real number, got {_kind(value)} of shape {tuple(t.shape)}",
                          f"{what} must be one real number")
    return float(t.reshape(()))


def as_numbers(value, what, length):
    """`value` as a list of exactly `length` floats: any sequence of numbers, or a 1-D tensor or array."""
    _ordered(value, what, length, "numbers")
    return [as_number(v, f"entry {i} of {what}") for i, v in enumerate(value)]


def as_int(value, what):
    """`value` as a Python int: a number whose value is a whole number."""
    number = as_number(value, what)
    if not (math.isfinite(number) and number.is_integer()):
        raise AnswerError(f"{what} must be a whole number, got {number!r}", f"{what} must be a whole number")
    return int(value) if isinstance(value, numbers.Integral) else int(number)


def as_ints(value, what, length):
    """`value` as a tuple of exactly `length` ints (a tuple, list, torch.Size, or 1-D integer tensor)."""
    _ordered(value, what, length, "ints")
    return tuple(as_int(v, f"entry {i} of {what}") for i, v in enumerate(value))


def as_bool(value, what):
    """`value` as a Python bool: a bool, a numpy bool, 0 or 1, or a tensor or array holding one of those."""
    if isinstance(value, bool):
        return value
    try:
        t = torch.as_tensor(_native(value))
    except (TypeError, ValueError, RuntimeError):
        raise AnswerError(f"{what} must be True or False, got {_kind(value)}", f"{what} must be True or False") from None
    if t.numel() != 1 or t.is_complex() or float(t.reshape(())) not in (0.0, 1.0):
        raise AnswerError(f"{what} must be True or False, got {value!r:.40}", f"{what} must be True or False")
    return bool(t.reshape(()))


def as_values(value, what, shape):
    """`value` as a float64 tensor of exactly `shape`: a tensor or array of any real dtype, or nested lists."""
    value = _native(value)
    try:
        t = _tensor(value.copy() if hasattr(value, "__array__") and not isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        raise AnswerError(f"{what} must be a tensor (or array) of numbers, got {_kind(value)}",
                          f"{what} must be a tensor (or array) of numbers of shape {tuple(shape)}") from None
    if t.is_complex():
        raise AnswerError(f"{what} must be real, got complex values", f"{what} must be real")
    if tuple(t.shape) != tuple(shape):
        raise AnswerError(f"{what} must have shape {tuple(shape)}, got {tuple(t.shape)}",
                          f"{what} must have shape {tuple(shape)}")
    return t.detach().to(torch.float64)


def assert_close(got, want, what, rtol=1e-6, atol=0.0, hint=""):
    """Raise AssertionError unless `got` has `want`'s shape and |got - want| <= atol + rtol |want| everywhere.

    NaN matches NaN only. The message says where the largest miss is, not what was expected, then `hint`.
    """
    want = torch.as_tensor(want).detach().to(torch.float64)
    got = as_values(got, what, want.shape)
    both_nan = got.isnan() & want.isnan()
    miss = torch.where(both_nan, 0.0, (got - want).abs() - (atol + rtol * want.abs()))
    miss = torch.where(miss.isnan(), math.inf, miss)
    if (miss > 0).any():
        worst = int(miss.reshape(-1).argmax())
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), want.shape)) if want.dim() else ()
        where = f"{what} is off at index {index}{' and elsewhere' if int((miss > 0).sum()) > 1 else ''}"
        raise AnswerError(f"{where}: {hint}" if hint else where, f"{what} is not right: {hint}" if hint else
                          f"{what} is not right")
