"""Tag validation: each S3 Batch Operations limit at its edge, and the copy it returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from jobqueue._errors import ValidationError
from jobqueue._tags import MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS, validate_tags


def many(n: int) -> dict[str, str]:
    return {f"k{i}": f"v{i}" for i in range(n)}


def test_limits_are_the_services() -> None:
    assert (MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE) == (50, 128, 256)


def test_none_is_no_tags() -> None:
    assert validate_tags(None) == {}


def test_returns_an_equal_plain_dict_that_the_caller_owns() -> None:
    given = {"Department": "Finance"}
    result = validate_tags(given)
    assert result == given
    assert type(result) is dict
    assert result is not given
    given["Department"] = "Legal"  # the copy must not follow the caller's change
    assert result == {"Department": "Finance"}


def test_fifty_tags_allowed() -> None:
    assert validate_tags(many(50)) == many(50)


def test_fifty_one_tags_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags(many(51))
    assert str(info.value) == "tags may hold at most 50 entries, got 51"


def test_field_name_used_in_count_message() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags(many(51), field="billing_tags")
    assert str(info.value) == "billing_tags may hold at most 50 entries, got 51"


def test_key_of_128_characters_allowed() -> None:
    key = "k" * 128
    assert validate_tags({key: "v"}) == {key: "v"}


def test_key_of_129_characters_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags({"k" * 129: "v"})
    assert str(info.value) == "tag key must be 1-128 characters, got 129"


def test_empty_key_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags({"": "v"})
    assert str(info.value) == "tag key must be 1-128 characters, got 0"


def test_key_length_counts_characters_not_bytes() -> None:
    # 128 characters, 512 bytes in UTF-8.
    key = "\N{GRINNING FACE}" * 128
    assert validate_tags({key: "v"}) == {key: "v"}


def test_value_of_256_characters_allowed() -> None:
    assert validate_tags({"Dept": "v" * 256}) == {"Dept": "v" * 256}


def test_value_of_257_characters_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags({"Dept": "v" * 257})
    assert str(info.value) == "tag value for key 'Dept' must be 0-256 characters, got 257"


def test_empty_value_allowed() -> None:
    assert validate_tags({"Dept": ""}) == {"Dept": ""}


def test_keys_differing_only_by_case_are_two_tags() -> None:
    assert validate_tags({"Dept": "a", "dept": "b"}) == {"Dept": "a", "dept": "b"}


def test_non_str_key_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags(cast(Mapping[str, str], {1: "v"}))
    assert str(info.value) == "tag key must be a str, got int"


def test_non_str_value_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags(cast(Mapping[str, str], {"Dept": 1}))
    assert str(info.value) == "tag value for key 'Dept' must be a str, got int"


@pytest.mark.parametrize(
    ("tags", "kind"),
    [([("Dept", "Finance")], "list"), ("Dept=Finance", "str"), (7, "int")],
)
def test_non_mapping_rejected(tags: Any, kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags(tags)
    assert str(info.value) == f"tags must be a mapping of str to str, got {kind}"


def test_field_name_used_in_mapping_message() -> None:
    with pytest.raises(ValidationError) as info:
        validate_tags(cast(Mapping[str, str], ["x"]), field="billing_tags")
    assert str(info.value) == "billing_tags must be a mapping of str to str, got list"


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_tags({"": ""})
