"""Journal entries and snapshot parts as bytes: a pickle of plain data, read back safely.

Encoding: an entry is a pickle (protocol 5, see ``Encoder``) of plain data
only -- lists, dicts, str, int, float, bool, bytes (a job's saved state,
see ``jobqueue._saved_state``) and None -- read back by an unpickler that
refuses every global but the plain types. Formats 1 and 2
wrote the same lists as compact JSON texts; both are still read (``decode``
tells a pickle by its first byte).
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable
from typing import Any, Final

from ._errors import bounded, brief

__all__ = ["Encoder", "decode"]


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # Called only for objects that are not exact builtins: a str, int or
        # float subclass (an enum member, an application's StrEnum queue name)
        # goes as its plain value, which is what the loader expects.
        for plain in (str, int, float):
            if isinstance(obj, plain):
                return plain, (_PLAIN_VALUE[plain](obj),)
        if obj is str or obj is int or obj is float:
            return NotImplemented  # the type in such a reduction: pickled by name
        raise TypeError(f"cannot journal a {type(obj).__name__}: {obj!r}")


_PLAIN_VALUE: Final[dict[type, Callable[[Any], object]]] = {
    str: str.__str__,  # an exact str, whatever the subclass's own __str__ says
    int: int.__int__,
    float: float.__float__,
}
_PLAIN_TYPES: Final = {t.__name__: t for t in _PLAIN_VALUE}


class Encoder:
    """Encodes entries and snapshot parts: a pickle (protocol 5) of plain data.

    Pickle writes a float as its 8 bytes where JSON spells out its digits, and
    a job's row is mostly timestamps (``benchmarks/bench_store.py`` times the
    journal). The pickler is built once and reused, so an encoder
    serves one journal (one scheduler, one thread at a time).
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.write = self._parts.append  # the pickler's file
        self._pickler = _Pickler(self, _PROTOCOL)

    def __call__(self, value: object) -> bytes:
        pickler = self._pickler
        parts = self._parts
        try:
            pickler.dump(value)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        finally:
            pickler.clear_memo()
            parts.clear()


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # Entries hold plain data only; the one global they may name is a
        # plain type rebuilding a subclass's value. Anything else is refused,
        # so a damaged or foreign blob cannot make the loader call code.
        if module == "builtins" and name in _PLAIN_TYPES:
            return _PLAIN_TYPES[name]
        raise pickle.UnpicklingError(f"an entry may not name {module}.{name}")


def decode(data: bytes) -> Any:
    """An entry or snapshot part; formats 1 and 2 wrote JSON text, format 3 pickles.

    Raises:
        ValueError: ``data`` is not an entry (the message quotes it briefly).
    """
    buffer = io.BytesIO(data)
    error: str | None = None
    try:
        if data[:1] != _PICKLED:
            return json.loads(data)
        value = _Unpickler(buffer).load()
    except Exception as exc:  # any damage: a cut pickle, a JSON array 100,000 deep, ...
        error = brief(exc)
    if error is not None:
        # Raised outside the handler, so that the error holds nothing of the decoding.
        raise ValueError(bounded(f"not an entry: {error}"))
    if buffer.tell() != len(data):
        raise ValueError(f"{len(data) - buffer.tell()} stray bytes after the entry")
    return value


_PROTOCOL: Final = 5
_PICKLED: Final = b"\x80"  # the PROTO opcode every pickle of protocol >= 2 starts with
