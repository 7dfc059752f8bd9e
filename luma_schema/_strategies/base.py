"""What the parts of the strategies share: a request, a draw, tests wanted true or false, and the
two ways building fails (a bug of the strategies, or one way of many that does not fit)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from luma_schema.rules import Test

Request = dict[str, Any]
Draw = st.DrawFn
Wants = list[tuple[Test, bool]]


class StrategyError(RuntimeError):
    """The strategies could not build what they promise: a bug of theirs (or a catalogue whose
    rules no request can obey together), never a property of the request under test."""


class Infeasible(Exception):
    """One way of making a rule hold does not work for this request: try another."""


def short(body: Any) -> str:
    # Messages quote the request, cut: one may carry megabytes of base64.
    text = repr(body)
    return text if len(text) <= 2000 else text[:2000] + "..."
