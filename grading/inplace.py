"""What a student's function did to its arguments, written back into the test's own objects.

An argument reaches the kernel as a copy (grading.wire). When the call changes that copy in place
(`x[x < floor] = floor`, `lst.append(...)`, `d["k"] = ...`), the kernel sends the copy back as data and
`write_back(sent, changed)` makes the judge's object hold the same values, in place, as it would if the test
had run beside the function: a test that checks its input afterwards sees what the function did.

Mutable objects are updated in place, through every container that holds them: tensors and numpy arrays
(values, and shape or dtype if those changed), lists, dicts, sets, and the fields of the course's data classes
and distributions. An immutable value (a number, a string, a tuple itself) cannot have been changed in place,
so only the mutable objects inside it are written.
"""
import dataclasses

import numpy as np
import torch


class NotWritable(TypeError):
    """A change that the judge's object cannot take in place."""


def write_back(sent, changed):
    """Make `sent` hold the values of `changed`, in place where it is mutable; returns the object that now
    stands for the argument (`sent` itself whenever it is mutable)."""
    if isinstance(sent, torch.Tensor) and isinstance(changed, torch.Tensor):
        with torch.no_grad():
            if sent.shape == changed.shape and sent.dtype == changed.dtype:
                sent.copy_(changed)
            else:
                sent.data = changed
        return sent
    if isinstance(sent, np.ndarray) and isinstance(changed, np.ndarray):
        if sent.shape != changed.shape or sent.dtype != changed.dtype:
            try:
                sent.resize(changed.shape, refcheck=False)
                sent.dtype = changed.dtype
            except (ValueError, TypeError, AttributeError) as err:
                raise NotWritable(f"an array argument was changed in place to shape {changed.shape} and dtype "
                                  f"{changed.dtype}, which the test's array cannot take ({err})") from None
        sent[...] = changed
        return sent
    if isinstance(sent, list) and isinstance(changed, list):
        kept = [write_back(a, b) for a, b in zip(sent, changed)]
        sent[:] = kept + changed[len(kept):]
        return sent
    if isinstance(sent, dict) and isinstance(changed, dict):
        for key in [k for k in sent if k not in changed]:
            del sent[key]
        for key, value in changed.items():
            sent[key] = write_back(sent[key], value) if key in sent else value
        return sent
    if isinstance(sent, set) and isinstance(changed, set):
        sent.clear()
        sent.update(changed)
        return sent
    if isinstance(sent, tuple) and isinstance(changed, tuple) and len(sent) == len(changed):
        for a, b in zip(sent, changed):
            write_back(a, b)
        return sent
    if dataclasses.is_dataclass(sent) and not isinstance(sent, type) and type(sent) is type(changed):
        for field in dataclasses.fields(sent):
            _write_attribute(sent, field.name, getattr(changed, field.name))
        return sent
    if isinstance(sent, torch.distributions.Distribution) and type(sent) is type(changed):
        for name in changed.arg_constraints:
            _write_attribute(sent, name, getattr(changed, name))
        return sent
    return changed


def _write_attribute(obj, name, value):
    old = getattr(obj, name)
    new = write_back(old, value)
    if new is not old:
        object.__setattr__(obj, name, new)  # a frozen data class's field rebound by the function
