"""Rule kinds: each constraint of the API is one immutable value of one of these classes.

A rule carries its stable id, its HTTP status and its message template, and states what it
requires once, as a predicate (:mod:`luma_schema.expr`) over the request's type-checked values:
``predicate()`` holds exactly when the request obeys the rule.  ``echo()`` names the values its
message quotes.  A rule never builds paths or statuses itself: the engine adds them.  Every rule
validates its own parameters when it is defined, so a wrong catalogue fails at import.
"""


from __future__ import annotations

from luma_schema.expr import MISSING
from luma_schema.rules.base import (
    Advice,
    Expressible,
    Field,
    JsonBody,
    JsonType,
    JsonTypes,
    Rule,
    Scope,
    Test,
)
from luma_schema.rules.catalogue import Catalogue
from luma_schema.rules.image import (
    Alone,
    Base64,
    EitherOf,
    Fetched,
    HttpStatus,
    ImageMediaType,
    MaxBytes,
    MediaFamily,
    NotBoth,
    PublicHttpsUrl,
    RequiredWith,
    Uuid,
    decoded,
)
from luma_schema.rules.request import (
    AllowedWith,
    ForbiddenFor,
    ItemsRange,
    Length,
    MaxItemsFor,
    NotTogether,
    OneOf,
    OneOfFor,
    OnlyFor,
    Range,
    Required,
    RequiredFor,
    SameLength,
    Unique,
)

__all__ = [
    "MISSING",
    "Advice",
    "AllowedWith",
    "Alone",
    "Base64",
    "Catalogue",
    "EitherOf",
    "Expressible",
    "Fetched",
    "Field",
    "ForbiddenFor",
    "HttpStatus",
    "ImageMediaType",
    "ItemsRange",
    "JsonBody",
    "JsonType",
    "JsonTypes",
    "Length",
    "MaxBytes",
    "MaxItemsFor",
    "MediaFamily",
    "NotBoth",
    "NotTogether",
    "OneOf",
    "OneOfFor",
    "OnlyFor",
    "PublicHttpsUrl",
    "Range",
    "Required",
    "RequiredFor",
    "RequiredWith",
    "Rule",
    "SameLength",
    "Scope",
    "Test",
    "Unique",
    "Uuid",
    "decoded",
]
