"""Hypothesis strategies for generation requests (extra ``testing``), read from a catalogue.

``valid_requests()`` builds requests the server accepts; ``violating(rule_id)`` builds requests that
break exactly that rule and no other.  Both take the catalogue (``luma_schema.catalog.CATALOGUE``
by default) and construct rather than filter.  Each value is drawn from its field's JSON type and
the rules on that field that apply (their ``when``/``unless`` conditions read on the request being
built); then, while some rule fails, the entry of its kind in ``HOLD``
(:mod:`luma_schema._strategies.hold`) offers ways to make it hold (the value drawn again, a member
removed, a condition made false) and one is taken.  A violation makes the rule's conditions true
and its requirement false (the kind's entry in ``BREAK``, :mod:`luma_schema._strategies.kinds`),
and the other rules are made to hold again only in ways that keep it broken.  A kind without an
entry in both tables fails at import, so a catalogue that only adds rules of known kinds gets its
strategies for free.  Whether a request obeys a rule is read from the catalogue's own predicates
(:mod:`luma_schema._strategies.view`), never asked of the engine.
"""

from __future__ import annotations

import functools
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "luma_schema.strategies needs hypothesis: pip install 'luma-schema[testing]'"
    ) from exc

from luma_schema import catalog
from luma_schema._strategies.base import Request
from luma_schema._strategies.base import StrategyError as StrategyError
from luma_schema._strategies.kinds import BREAK
from luma_schema._strategies.settle import valid
from luma_schema._strategies.view import View
from luma_schema.rules import Catalogue, Scope

__all__ = ["valid_requests", "violating"]


@functools.lru_cache(maxsize=8)
def _view(cat: Catalogue) -> View:
    return View(cat)


def valid_requests(cat: Catalogue = catalog.CATALOGUE) -> st.SearchStrategy[Request]:
    """Requests the server accepts: every type and model, with the options of each (nested, with
    their constraints); references by URL, base64 (real PNG, JPEG, GIF and WebP signatures, video
    bytes where a video may be), generation id and file id at every position; optional fields
    present, null or absent; fields a type ignores, now and then; any Unicode text up to its limit
    (astral-plane characters included)."""
    return valid(_view(cat))


def violating(rule_id: str, cat: Catalogue = catalog.CATALOGUE) -> st.SearchStrategy[Any]:
    """Requests that break exactly the rule ``rule_id`` and no other (every rule that needs no
    network): ``check()`` reports that rule alone."""
    try:
        rule = cat.rule(rule_id)
    except KeyError:
        known = ", ".join(r.id for r in cat.rules if r.scope is not Scope.FETCH)
        raise ValueError(f"no rule {rule_id!r}; known: {known}") from None
    return BREAK[type(rule)](rule, _view(cat))
