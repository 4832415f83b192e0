"""Shared plumbing for the engine: argument checks, devices, and leaving torch as we found it."""
import contextlib
import numbers

import torch


def check_int(name, value, minimum):
    """Return `value` as an int, or raise ValueError naming `name` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(name, value):
    """Return `value` as a float, or raise ValueError unless it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < float("inf")):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def resolve_device(device):
    """CPU by default; CUDA only when asked for and present."""
    try:
        device = torch.device("cpu" if device is None else device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu', 'cuda' or a torch.device, got {device!r}") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was asked for, but CUDA is not available here; use device='cpu'")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {str(device)!r}")
    return device


@contextlib.contextmanager
def engine_state(grad):
    """Run with one intra-op thread and the given grad mode; restore both afterwards.

    The lab's tensors are tiny, so every op is dominated by dispatch; a second thread only
    adds synchronisation (8x slower per step measured on 2 busy cores).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.set_grad_enabled(grad):
            yield
    finally:
        torch.set_num_threads(threads)


def make_generator(seed, device):
    """A private RNG stream, so that the caller's global torch RNG is never consumed."""
    seed = check_int("seed", seed, 0)
    return torch.Generator(device=device).manual_seed(seed)
