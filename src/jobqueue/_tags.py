"""Job tags: the rules every tag set obeys, at creation and on every put.

The limits are S3 Batch Operations': at most 50 tags per job, keys of 1-128
Unicode characters, values of 0-256, keys unique and case-sensitive ("Dept" and
"dept" are two tags). A length is ``len()`` of the ``str``, i.e. code points.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._errors import ValidationError
from ._validate import check_str

__all__ = ["MAX_TAGS", "MAX_TAG_KEY", "MAX_TAG_VALUE", "validate_tags"]

#: Most tags one job may carry.
MAX_TAGS = 50
#: Longest tag key, in characters; the shortest is 1.
MAX_TAG_KEY = 128
#: Longest tag value, in characters; the empty value is allowed.
MAX_TAG_VALUE = 256


def validate_tags(tags: Mapping[str, str] | None, *, field: str = "tags") -> dict[str, str]:
    """Check a tag set against the limits and return a plain copy of it.

    Keys are compared case-sensitively. Keys and values are copied to plain
    ``str`` before they are checked, so a ``str`` subclass whose ``len()``,
    ``==`` or ``hash()`` lies is checked, stored and compared as the
    characters it holds; two keys that hold the same characters are refused.

    Args:
        tags: the tag set; ``None`` means no tags.
        field: the argument's name, used in error messages (e.g. ``"billing_tags"``).

    Returns:
        A new ``dict`` of plain ``str`` the caller owns; later changes to
        ``tags`` do not reach it.

    Raises:
        ValidationError: ``tags`` is not a mapping, holds more than ``MAX_TAGS``
            entries, has a key or value that is not a ``str`` or is out of
            range, or holds one key twice.

    Complexity: O(n) in the number of tags.

    >>> validate_tags({"Department": "Finance"})
    {'Department': 'Finance'}
    """
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise ValidationError(f"{field} must be a mapping of str to str, got {type(tags).__name__}")
    # Copy first: the checks and the result must see the same entries even if
    # the caller's mapping is something lazy or mutable.
    copy = dict(tags)
    if len(copy) > MAX_TAGS:
        raise ValidationError(f"{field} may hold at most {MAX_TAGS} entries, got {len(copy)}")
    if all(type(key) is str and type(value) is str for key, value in copy.items()):
        plain = copy  # the common case: nothing to copy again
    else:
        plain = {}
        for key, value in copy.items():
            key = check_str("tag key", key)
            if key in plain:
                raise ValidationError(f"tag key {key!r} appears twice")
            plain[key] = value if type(value) is str else _plain_value(key, value)
    for key, value in plain.items():
        if not 1 <= len(key) <= MAX_TAG_KEY:
            raise ValidationError(f"tag key must be 1-{MAX_TAG_KEY} characters, got {len(key)}")
        if len(value) > MAX_TAG_VALUE:
            raise ValidationError(
                f"tag value for key {key!r} must be 0-{MAX_TAG_VALUE} characters, got {len(value)}"
            )
    return plain


def _plain_value(key: str, value: object) -> str:
    return check_str(f"tag value for key {key!r}", value)
