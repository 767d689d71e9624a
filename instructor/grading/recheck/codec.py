"""Plain data for the values that cross the sandbox's wall, both ways.

The grader sends the arguments of each call to the sandbox, and the sandbox sends back what
the student's function returned. Both travel as JSON made by `Codec.encode`:

    {"kind": "none"}
    {"kind": "json", "value": ...}               a bool, int, float or str (exactly that type)
    {"kind": "array", "dtype", "shape", "data"}  a numeric numpy array: raw bytes, base64
    {"kind": "scalar", "dtype", "data"}          a numeric numpy scalar (numpy.float64...)
    {"kind": "dict", "entries": [[key, value], ...]}   keys that are not str travel as None
    {"kind": "list" | "tuple", "items": [...]}
    {"kind": "other", "type": name}              anything else: only the name of its type

Only values of exactly these types are encoded, never subclasses: a student's object cannot run
code while it is encoded. In the sandbox the codec is built before any student code runs and
keeps its own references to the built-ins it uses (`Codec(refs)`), so that an answer that
replaces them changes nothing. `decode` rebuilds the value in the grader, checking every size
and type; what cannot be rebuilt becomes a placeholder object named as what it was.
"""

import base64
import builtins
import json
import re
from typing import Any, TypedDict

import numpy

# A value as it crosses the wall: JSON of the forms above.
Encoded = dict[str, Any]
# An answer or a call's outcome from the sandbox, as JSON (child.py's docstring gives the forms).
Reply = dict[str, Any]


class Request(TypedDict):
    """One exercise the sandbox is asked to call (child.py): its name, the function, the
    submitted answer cell's source, and the encoded arguments of each call."""

    name: str
    function: str
    source: str
    calls: list[list[Encoded]]


MAX_ARRAY_SIZE = 10**6  # elements of one array
MAX_STR = 10_000  # characters of one string
MAX_DEPTH = 8  # nested dicts, lists and tuples
MAX_ITEMS = 10_000  # entries of one dict, list or tuple


class Codec:
    """Encodes values with references taken when it was made (see the module's docstring)."""

    def __init__(self) -> None:
        # the built-ins it uses, by name (functions, types and tuples of types)
        self.r: dict[str, Any] = {
            "type": builtins.type,
            "str": builtins.str,
            "list": builtins.list,
            "len": builtins.len,
            "dict": builtins.dict,
            "tuple": builtins.tuple,
            "plain": (builtins.bool, builtins.int, builtins.float, builtins.str),
            "ndarray": numpy.ndarray,
            "scalars": frozenset(
                t
                for t in set(numpy.sctypeDict.values())
                if issubclass(t, numpy.number | numpy.bool_)
            ),
            "tobytes": numpy.ndarray.tobytes,
            "scalar_bytes": numpy.generic.tobytes,
            "b64": base64.b64encode,
            "decode": bytes.decode,
            "items": dict.items,
            "exc": BaseException,
        }

    def type_name(self, value: object) -> str:
        r = self.r
        try:
            name = r["type"](value).__name__
            return str(name[:60]) if r["type"](name) is r["str"] else "object"
        except r["exc"]:
            return "object"

    def encode(self, value: Any, depth: int = 0) -> Encoded:
        r = self.r
        kind = r["type"](value)
        if value is None:
            return {"kind": "none"}
        if kind in r["plain"]:
            if kind is r["str"] and r["len"](value) > MAX_STR:
                value = value[:MAX_STR]
            return {"kind": "json", "value": value}
        if kind is r["ndarray"]:
            dtype = value.dtype
            if dtype.kind not in "biufc" or dtype.hasobject or value.size > MAX_ARRAY_SIZE:
                return {"kind": "other", "type": "ndarray of " + r["str"](dtype)[:40]}
            data = r["decode"](r["b64"](r["tobytes"](value)), "ascii")
            return {"kind": "array", "dtype": dtype.str, "shape": r["list"](value.shape),
                    "data": data}  # fmt: skip
        if kind in r["scalars"]:
            data = r["decode"](r["b64"](r["scalar_bytes"](value)), "ascii")
            return {"kind": "scalar", "dtype": value.dtype.str, "data": data}
        if depth < MAX_DEPTH and kind is r["dict"] and r["len"](value) <= MAX_ITEMS:
            entries: list[list[Any]] = []
            for key, item in r["items"](value):
                name = key if r["type"](key) is r["str"] else None
                entries.append([name, self.encode(item, depth + 1)])
            return {"kind": "dict", "entries": entries}
        if depth < MAX_DEPTH and kind in (r["list"], r["tuple"]) and r["len"](value) <= MAX_ITEMS:
            label = "list" if kind is r["list"] else "tuple"
            return {"kind": label, "items": [self.encode(item, depth + 1) for item in value]}
        return {"kind": "other", "type": self.type_name(value)}


def placeholder(type_name: str) -> object:
    """An object that is not what the checks want, named as what the student returned."""
    return type(type_name if type_name.isidentifier() else "object", (), {})()


def _decode_array(value: Encoded, scalar: bool = False) -> Any:
    np = numpy
    dtype_text, shape = value.get("dtype", ""), [] if scalar else value.get("shape")
    if not re.fullmatch(r"[<>|=]?[biufc]\d{1,2}", str(dtype_text)) or not isinstance(shape, list):
        return placeholder("object")
    if not all(isinstance(n, int) and 0 <= n <= MAX_ARRAY_SIZE for n in shape):
        return placeholder("object")
    dtype, data = np.dtype(dtype_text), base64.b64decode(value.get("data", ""))
    if int(np.prod(shape)) * dtype.itemsize != len(data) or np.prod(shape) > MAX_ARRAY_SIZE:
        return placeholder("object")
    array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    return array[()] if scalar else array


def decode(value: object, depth: int = 0) -> Any:
    """The value an encoded one stands for (a placeholder where it cannot be rebuilt)."""
    if not isinstance(value, dict) or depth > MAX_DEPTH:
        return placeholder("object")
    kind = value.get("kind")
    if kind == "none":
        return None
    if kind == "json" and isinstance(value.get("value"), bool | int | float | str):
        return value["value"]
    if kind in ("array", "scalar"):
        return _decode_array(value, scalar=kind == "scalar")
    if kind == "dict" and isinstance(value.get("entries"), list):
        result: dict[str, Any] = {}
        for i, entry in enumerate(value["entries"][:MAX_ITEMS]):
            key, item = entry if isinstance(entry, list) and len(entry) == 2 else (None, None)
            result[key if isinstance(key, str) else f"<key {i} is not a string>"] = decode(
                item, depth + 1
            )
        return result
    if kind in ("list", "tuple") and isinstance(value.get("items"), list):
        items = [decode(item, depth + 1) for item in value["items"][:MAX_ITEMS]]
        return items if kind == "list" else tuple(items)
    return placeholder(str(value.get("type", "object")))


def key_of(encoded_arguments: list[Encoded]) -> str:
    """A call's identity: its encoded arguments as canonical JSON."""
    return json.dumps(encoded_arguments, sort_keys=True)
