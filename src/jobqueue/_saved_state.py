"""A job function's saved state (``ctx.save``): which values it may be, and their bytes.

Saved state is plain data: ``None``, ``bool``, ``int``, ``float``, ``str``,
``bytes``, and lists, tuples and dicts (with ``str`` keys) of these, of the
exact built-in types (a subclass, a set or an object of the application is
refused). It is encoded as the journal encodes its entries: a pickle of
plain data only, read back by an unpickler that refuses every global. Such a
pickle names no class and no function, so reading it from a store, however
damaged or foreign, builds plain values and never runs code; arbitrary pickled
objects would make a store file as trusted as the code that reads it.

The encoding is kept on the job as bytes, so the state saved is a copy: a job
function that changes its value after ``save`` does not change what was
saved, and every read of ``ctx.saved`` returns a fresh copy.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, Final

from ._errors import ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_SAVED_BYTES",
    "check_state",
    "decode_state",
    "encode_state",
]

#: The most bytes a saved state may take once encoded (64 KiB).
MAX_SAVED_BYTES: Final = 65_536
#: The deepest a saved state may nest lists, tuples and dicts.
MAX_DEPTH: Final = 100

_SCALARS: Final = frozenset({type(None), bool, int, float, str, bytes})
_KINDS: Final = "None, bool, int, float, str, bytes, list, tuple or dict"
_PROTOCOL: Final = 5
_SHOWN: Final = 6  # steps of a path an error shows


def check_state(value: object, name: str = "state") -> None:
    """Check that ``value`` is plain data a job may save. O(size of value).

    At most ``MAX_SAVED_BYTES`` values are visited (a value shared in several
    places counts each time), so that a small value built of shared parts
    cannot keep the check going for ever.

    Raises:
        ValidationError: naming where in ``value`` the bad part is
            (``state[0]['k']``) and what is wrong: a type outside the domain, a
            dict key that is not a str, lists nested deeper than ``MAX_DEPTH``,
            a list that contains itself, or more than ``MAX_SAVED_BYTES`` values.
    """
    _Walk(name).visit(value)


class _Walk:
    __slots__ = ("left", "name", "open", "path")

    def __init__(self, name: str) -> None:
        self.name = name
        self.left = MAX_SAVED_BYTES
        self.open: set[int] = set()  # the containers on the path to the current value
        self.path: list[object] = []  # the keys and indexes of that path

    def where(self) -> str:
        """The current value, as ``state[0]['k']``: the first few steps of a long path."""
        steps = [f"[{step!r}]" if len(repr(step)) <= 22 else "[...]" for step in self.path]
        if len(steps) > _SHOWN:
            steps[_SHOWN - 1 :] = ["[...]"]
        return self.name + "".join(steps)

    def visit(self, value: object) -> None:
        self.left -= 1
        if self.left < 0:
            raise ValidationError(f"{self.name} must hold at most {MAX_SAVED_BYTES} values")
        kind = type(value)
        if kind in _SCALARS:
            return
        if kind is not list and kind is not tuple and kind is not dict:
            raise ValidationError(f"{self.where()} must be {_KINDS}, got {kind.__name__}")
        if len(self.path) == MAX_DEPTH:
            raise ValidationError(f"{self.where()} must nest at most {MAX_DEPTH} levels deep")
        ident = id(value)
        if ident in self.open:
            raise ValidationError(f"{self.where()} must not contain itself")
        self.open.add(ident)
        path = self.path
        if isinstance(value, dict):
            for key, item in value.items():
                if type(key) is not str:
                    raise ValidationError(
                        f"{self.where()} keys must be str, got {type(key).__name__}"
                    )
                path.append(key)
                self.visit(item)
                path.pop()
        else:
            assert isinstance(value, (list, tuple))
            for i, item in enumerate(value):
                path.append(i)
                self.visit(item)
                path.pop()
        self.open.discard(ident)


def encode_state(value: object) -> bytes | None:
    """``value``'s encoding, or None for None (nothing saved). O(size of value).

    Raises:
        ValidationError: ``value`` is not plain data (see ``check_state``), or
            its encoding is longer than ``MAX_SAVED_BYTES``.
    """
    if value is None:
        return None
    check_state(value)
    # Only exact built-in types are left: pickle writes no global for them.
    data = pickle.dumps(value, _PROTOCOL)
    if len(data) > MAX_SAVED_BYTES:
        raise ValidationError(
            f"state must encode to at most {MAX_SAVED_BYTES} bytes, got {len(data)}"
        )
    return data


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # Saved state names no global: a blob that does is refused before
        # anything it names could be called.
        raise pickle.UnpicklingError(f"saved state may not name {module}.{name}")


def decode_state(data: bytes) -> Any:
    """The value ``encode_state`` encoded as ``data``: a fresh copy each call. O(len(data)).

    Only ``check_state`` says whether a decoded value is in the domain: a
    damaged blob may decode to a set, say, without naming a global.

    Raises:
        ValueError: ``data`` is not a pickle of plain data (a damaged store):
            it is cut short, names a global, or has bytes after its end.
    """
    buffer = io.BytesIO(data)
    error: str | None = None
    try:
        value = _Unpickler(buffer).load()
    except Exception as exc:  # any damage: a cut pickle, a global, a bad opcode, ...
        error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        # Raised outside the handler, so that the error holds nothing of the decoding.
        raise ValueError(f"not a saved state: {error}")
    if buffer.tell() != len(data):
        raise ValueError(f"{len(data) - buffer.tell()} stray bytes after the saved state")
    return value
