"""Every rule kind's entry in both tables: how to make it hold (``HOLD``, :mod:`.hold`) and how to
break it alone (``BREAK``).  A kind without an entry in both fails at import, so a catalogue that
only adds rules of known kinds gets its strategies for free."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from hypothesis import strategies as st

from luma_schema._strategies.break_reference import (
    break_alone,
    break_base64,
    break_either_of,
    break_max_bytes,
    break_media_type,
    break_not_both,
    break_required_with,
    break_url,
    break_uuid,
)
from luma_schema._strategies.break_request import (
    break_allowed_with,
    break_forbidden_for,
    break_items_range,
    break_length,
    break_max_items,
    break_not_together,
    break_one_of,
    break_one_of_for,
    break_only_for,
    break_range,
    break_required,
    break_required_for,
    break_same_length,
    break_unique,
)
from luma_schema._strategies.break_structure import break_body, break_types, needs_network
from luma_schema._strategies.hold import HOLD
from luma_schema._strategies.view import View
from luma_schema.rules import (
    AllowedWith,
    Alone,
    Base64,
    EitherOf,
    Fetched,
    ForbiddenFor,
    HttpStatus,
    ImageMediaType,
    ItemsRange,
    JsonBody,
    JsonTypes,
    Length,
    MaxBytes,
    MaxItemsFor,
    MediaFamily,
    NotBoth,
    NotTogether,
    OneOf,
    OneOfFor,
    OnlyFor,
    PublicHttpsUrl,
    Range,
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
    SameLength,
    Unique,
    Uuid,
)

# Given a rule of the kind and the catalogue as read: requests that break that rule alone.
Break = Callable[[Any, View], st.SearchStrategy[Any]]


BREAK: Final[Mapping[type[Rule], Break]] = {
    JsonBody: break_body,
    JsonTypes: break_types,
    OneOf: break_one_of,
    OneOfFor: break_one_of_for,
    Required: break_required,
    Length: break_length,
    Range: break_range,
    ItemsRange: break_items_range,
    Unique: break_unique,
    SameLength: break_same_length,
    NotTogether: break_not_together,
    RequiredFor: break_required_for,
    ForbiddenFor: break_forbidden_for,
    OnlyFor: break_only_for,
    MaxItemsFor: break_max_items,
    AllowedWith: break_allowed_with,
    Alone: break_alone,
    NotBoth: break_not_both,
    EitherOf: break_either_of,
    RequiredWith: break_required_with,
    Uuid: break_uuid,
    Base64: break_base64,
    MaxBytes: break_max_bytes,
    ImageMediaType: break_media_type,
    MediaFamily: break_media_type,
    PublicHttpsUrl: break_url,
    Fetched: needs_network,
    HttpStatus: needs_network,
}


def _kinds() -> set[type[Rule]]:
    from luma_schema import rules

    return {
        k
        for name in rules.__all__
        if isinstance(k := getattr(rules, name), type) and issubclass(k, Rule) and k is not Rule
    }


_UNMAPPED: Final = sorted(k.__name__ for k in _kinds() if k not in BREAK or k not in HOLD)
if _UNMAPPED:
    raise TypeError(f"the strategies have no entry for rule kinds {_UNMAPPED}")
