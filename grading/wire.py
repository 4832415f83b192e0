"""Values as data: what crosses between the student's kernel and the judge.

    encode(value) -> JSON-able tree        decode(tree) -> value

Data means: None, bools, ints, floats, complex numbers and strings; tuples, lists, sets and dicts
of data (their subclasses, such as `torch.Size` or a namedtuple, travel as the plain container);
torch tensors and numpy arrays of numbers or bools, any shape (as raw bytes: exact to the last bit;
`nn.Parameter` and other tensor subclasses travel as plain tensors); numpy scalars; the course's data
classes (`course.StarData`, `course.VIResult`, ...) and the flux priors (`torch.distributions`).
Anything else is refused with its type's name: no object of a kernel's making ever reaches the judge.

A handle names an object of the kernel without carrying it: `{"t": "handle", "v": <int>}`. Only the side
that passes `handle_of` (to encode) or `handles` (to decode) makes or reads one: the judge sends the
notebook's functions back to the kernel by handle (as an argument, or to bind a name), and the kernel
resolves them from its own table. A tree from the kernel names only handles the judge already holds.

The same file runs on both sides. In the student's kernel (grading.kernel_bridge pastes it there) it
encodes what the student's functions return; nothing there decides a grade. In the judge it decodes,
strictly: every tree is checked node by node, a tensor is rebuilt from its bytes, a data class from
its fields through its own constructor, and only classes named in `data_classes()` are ever built.
"""
import base64
import dataclasses
import math

MAX_DEPTH = 64
# Hash flooding: ints that are multiples of 2**61 - 1 (floats likewise) share one hash, and a set or dict of n
# of them takes n**2 comparisons to build. Set items and non-str dict keys may hold this many nodes in all per
# tree (str hashes are randomised); an honest reply has a few. And no tree has more than MAX_NODES nodes.
MAX_HASHED = 1000
MAX_NODES = 500_000
# dtypes whose bytes are rebuilt as they are; bfloat16 travels as the bits of an int16
TENSOR_DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128",
                 "int8", "int16", "int32", "int64", "uint8", "bool")
ARRAY_KINDS = "biufc"  # numpy: bool, signed, unsigned, float, complex (never object, str or void)


class NotData(TypeError):
    """A value that cannot cross: an object of some other type, or a malformed tree."""


def data_classes():
    """{name: class}: the only classes a tree may name, and how each is taken apart and rebuilt."""
    from torch.distributions import Normal, Pareto

    import course
    classes = {cls.__name__: cls for cls in (course.StarData, course.VIResult, course.GridPosterior,
                                              course.History, course.LogRecord)}
    classes.update(Normal=Normal, Pareto=Pareto)
    return classes


DISTRIBUTION_PARAMETERS = {"Normal": ("loc", "scale"), "Pareto": ("scale", "alpha")}


def _tensor_bytes(t):
    import torch
    # a conjugate or negative view holds other bits than its values: resolve them first (numpy() refuses them)
    t = torch.Tensor.detach(t).cpu().resolve_conj().resolve_neg().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def encode(value, depth=0, handle_of=None):
    """The JSON-able tree of `value`; raises NotData for anything that is not data (module docstring).

    handle_of(value) -> int or None: the handle of a value that is not data but names a kernel object."""
    if depth > MAX_DEPTH:
        raise NotData(f"data nested more than {MAX_DEPTH} deep")
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, int):
        return {"t": "int", "v": str(int.__index__(value))}  # as text: JSON has no integers beyond 2**53
    if isinstance(value, float):
        return {"t": "float", "v": float.hex(value)}  # exact, NaN and inf included
    if isinstance(value, complex):
        return {"t": "complex", "v": [float.hex(float(value.real)), float.hex(float(value.imag))]}
    if isinstance(value, str):
        return {"t": "str", "v": str.__str__(value)}
    for name, base in (("tuple", tuple), ("list", list), ("set", set), ("frozenset", frozenset)):
        if isinstance(value, base):
            return {"t": name, "v": [encode(v, depth + 1, handle_of) for v in base.__iter__(value)]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k, depth + 1, handle_of), encode(v, depth + 1, handle_of)] for k, v in dict.items(value)]}
    module = getattr(kind, "__module__", "") or ""
    if module.startswith("torch") and _is_tensor(value):
        import torch
        if torch.Tensor.is_nested.__get__(value):
            raise NotData("a nested tensor (of ragged shape): stack it into one tensor, or return a list of tensors")
        if torch.Tensor.device.__get__(value).type == "meta":
            raise NotData("a tensor on the meta device, which holds no values")
        dtype = str(value.dtype).removeprefix("torch.")
        if dtype not in TENSOR_DTYPES or value.layout != torch.strided or value.is_quantized:
            raise NotData(f"a tensor of dtype {dtype} and layout {value.layout}")
        return {"t": "tensor", "dtype": dtype, "shape": [int(s) for s in value.shape],
                "v": base64.b64encode(_tensor_bytes(value)).decode()}
    if module.startswith("numpy"):
        import numpy as np
        if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in ARRAY_KINDS:
            array = np.asarray(value)
            tag = "ndarray" if isinstance(value, np.ndarray) else "npscalar"
            return {"t": tag, "dtype": array.dtype.str, "shape": list(array.shape),
                    "v": base64.b64encode(array.tobytes(order="C")).decode()}
    name = kind.__name__
    if name in DISTRIBUTION_PARAMETERS and module.startswith("torch.distributions"):
        return {"t": "dist", "cls": name,
                "v": {p: encode(getattr(value, p), depth + 1, handle_of) for p in DISTRIBUTION_PARAMETERS[name]}}
    if dataclasses.is_dataclass(value) and module.startswith("course"):
        fields = {f.name: encode(getattr(value, f.name), depth + 1, handle_of) for f in dataclasses.fields(value)}
        return {"t": "data", "cls": name, "v": fields}
    handle = handle_of(value) if handle_of is not None else None
    if type(handle) is int:
        return {"t": "handle", "v": handle}
    raise NotData(f"an object of type {module}.{kind.__qualname__}")


def _is_tensor(value):
    import torch
    return isinstance(value, torch.Tensor)


def _field(tree, key, kind):
    if not isinstance(tree, dict) or not isinstance(tree.get(key), kind):
        raise NotData(f"malformed data: expected {key!r} of type {kind.__name__}")
    return tree[key]


def _shape(tree):
    shape = _field(tree, "shape", list)
    if len(shape) > 32 or not all(type(s) is int and 0 <= s for s in shape):
        raise NotData("malformed data: a shape must be a list of at most 32 sizes >= 0")
    return shape


def _raw(tree, itemsize, shape, boolean=False):
    raw = base64.b64decode(_field(tree, "v", str), validate=True)
    if len(raw) != itemsize * math.prod(shape):
        raise NotData(f"malformed data: {len(raw)} bytes for shape {shape}")
    if boolean and raw.translate(None, b"\x00\x01"):  # any other byte is no bool, and breaks torch's and numpy's
        raise NotData("malformed data: a bool is stored as the byte 0 or 1")
    return raw


class _Budget:
    """What is left of one tree's MAX_NODES nodes and MAX_HASHED hashed nodes."""

    def __init__(self):
        self.nodes, self.hashed = MAX_NODES, MAX_HASHED

    def hash(self, nodes_before):
        """Charge the nodes decoded since `nodes_before` to the hashed budget."""
        self.hashed -= nodes_before - self.nodes
        if self.hashed < 0:
            raise NotData(f"malformed data: more than {MAX_HASHED} items in sets or non-text dict keys")


def decode(tree, depth=0, classes=None, budget=None, handles=None):
    """The value a tree describes (see encode); raises NotData for any tree encode could not have made.

    handles(int) -> object: what a handle names (raises NotData for one it does not know); without it, a
    tree may hold no handle."""
    if depth > MAX_DEPTH:
        raise NotData(f"data nested more than {MAX_DEPTH} deep")
    budget = _Budget() if budget is None else budget
    budget.nodes -= 1
    if budget.nodes < 0:
        raise NotData(f"malformed data: more than {MAX_NODES:,} values in one answer")
    tag = _field(tree, "t", str)
    if tag == "none":
        return None
    if tag == "bool":
        return _field(tree, "v", bool)
    if tag == "int":
        text = _field(tree, "v", str)
        if len(text) > 4300:
            raise NotData("malformed data: an integer too long")
        return int(text)
    if tag == "float":
        return float.fromhex(_field(tree, "v", str))
    if tag == "complex":
        re_im = _field(tree, "v", list)
        if len(re_im) != 2 or not all(isinstance(x, str) for x in re_im):
            raise NotData("malformed data: a complex number is two floats")
        return complex(float.fromhex(re_im[0]), float.fromhex(re_im[1]))
    if tag == "str":
        return _field(tree, "v", str)
    if tag == "handle" and handles is not None:
        handle = _field(tree, "v", int)
        if type(handle) is not int:
            raise NotData("malformed data: a handle is an int")
        return handles(handle)
    if tag in ("tuple", "list"):
        items = [decode(v, depth + 1, classes, budget, handles) for v in _field(tree, "v", list)]
        return tuple(items) if tag == "tuple" else items
    if tag in ("set", "frozenset"):
        items = set()
        for v in _field(tree, "v", list):
            before = budget.nodes
            item = decode(v, depth + 1, classes, budget, handles)
            budget.hash(before)  # before the item is hashed in
            try:
                items.add(item)
            except TypeError:
                raise NotData("malformed data: a set of unhashable items") from None
        return items if tag == "set" else frozenset(items)
    if tag == "dict":
        pairs = _field(tree, "v", list)
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise NotData("malformed data: a dict is a list of [key, value] pairs")
        result = {}
        for k, v in pairs:
            before = budget.nodes
            key = decode(k, depth + 1, classes, budget, handles)
            if type(key) is not str:
                budget.hash(before)
            value = decode(v, depth + 1, classes, budget, handles)
            try:
                result[key] = value
            except TypeError:
                raise NotData("malformed data: a dict with an unhashable key") from None
        return result
    if tag == "tensor":
        import torch
        dtype = _field(tree, "dtype", str)
        if dtype not in TENSOR_DTYPES:
            raise NotData(f"malformed data: tensor dtype {dtype!r}")
        torch_dtype = getattr(torch, dtype)
        wire_dtype = torch.int16 if dtype == "bfloat16" else torch_dtype
        shape = _shape(tree)
        raw = _raw(tree, torch.empty((), dtype=wire_dtype).element_size(), shape, boolean=dtype == "bool")
        flat = torch.frombuffer(bytearray(raw), dtype=wire_dtype) if raw else torch.empty(0, dtype=wire_dtype)
        return flat.view(torch_dtype).reshape(shape).clone()
    if tag in ("ndarray", "npscalar"):
        import numpy as np
        try:
            dtype = np.dtype(_field(tree, "dtype", str))
        except TypeError:
            raise NotData("malformed data: numpy dtype") from None
        if dtype.kind not in ARRAY_KINDS or dtype.hasobject or dtype.fields is not None or dtype.subdtype:
            raise NotData(f"malformed data: numpy dtype {dtype}")
        shape = _shape(tree)
        array = np.frombuffer(_raw(tree, dtype.itemsize, shape, boolean=dtype.kind == "b"), dtype=dtype).reshape(shape).copy()
        if tag == "npscalar":
            if shape:
                raise NotData("malformed data: a numpy scalar has no shape")
            return array[()]
        return array
    if tag in ("dist", "data"):
        classes = data_classes() if classes is None else classes
        name = _field(tree, "cls", str)
        fields = _field(tree, "v", dict)
        allowed = DISTRIBUTION_PARAMETERS if tag == "dist" else {n for n in classes if n not in DISTRIBUTION_PARAMETERS}
        if name not in allowed or name not in classes:
            raise NotData(f"malformed data: no data class {name!r}")
        cls = classes[name]
        expected = DISTRIBUTION_PARAMETERS[name] if tag == "dist" else [f.name for f in dataclasses.fields(cls)]
        if set(fields) != set(expected):
            raise NotData(f"malformed data: {name} takes the fields {sorted(expected)}")
        values = {k: decode(v, depth + 1, classes, budget, handles) for k, v in fields.items()}
        try:
            return cls(**values)
        except Exception as err:  # the class's own checks: a StarData with inconsistent shapes, say
            raise NotData(f"malformed data: {name}({', '.join(expected)}) refused: {err}") from None
    raise NotData(f"malformed data: unknown tag {tag!r}")
