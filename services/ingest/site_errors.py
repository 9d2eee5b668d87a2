"""Every problem of a refused 5G-sites report, found a slice of sites at a time.

``SitesReport`` stops at a report's first bad site: a valid report costs what it did, a refused
one no more than its first bad site. Before, pydantic described every problem at once: 10,000
``{}`` (a 30 kB body) made 60,000 errors, 0.4 s with the event loop blocked and 60 MB; one site
with 450,000 unknown names, half a gigabyte. Here the rest is listed up to the error cap and
counted exactly past it, slice by slice, with the event loop handed back between slices: memory
for one slice's errors, never for all of them. Unknown names are counted here, not by pydantic,
which builds an error object for each.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import pydantic_core
from pydantic import Field, TypeAdapter, ValidationError

from services.ingest.errors import ErrorList, Loc, add_pydantic
from shared.wire import MAX_SITES_PER_REPORT, Site, SitesReport

SLICE = 250
"""Sites validated per step: ~5 ms of the event loop on a busy core."""
_TOP_FIELDS = frozenset(SitesReport.model_fields)
_SITE_FIELDS = frozenset(Site.model_fields)
_SITES: TypeAdapter[list[Site]] = TypeAdapter(list[Site])
_SITE_COUNT: TypeAdapter[list[Any]] = TypeAdapter(
    Annotated[list[Any], Field(max_length=MAX_SITES_PER_REPORT)]
)
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=True).encode
"""Back to JSON for pydantic's JSON mode (strict dates are text there); NaN stays NaN, so it is
refused as the first parse refused it."""


def every_error(body: bytes, errors: ErrorList) -> Iterator[None]:
    """Adds the problems of ``body`` (JSON that ``SitesReport`` refused) to ``errors``,
    yielding between slices of sites."""
    document = pydantic_core.from_json(body)
    if not isinstance(document, dict):
        return
    _unknown_names(errors, ["body"], [key for key in document if key not in _TOP_FIELDS])
    sites = document.get("sites")
    shell = {key: value for key, value in document.items() if key in _TOP_FIELDS}
    if isinstance(sites, list):
        shell["sites"] = []
    try:
        SitesReport.model_validate_json(_ENCODE(shell))
    except ValidationError as exc:
        add_pydantic(errors, exc)
    if not isinstance(sites, list):
        return
    try:
        _SITE_COUNT.validate_python(sites)
    except ValidationError as exc:
        add_pydantic(errors, exc, ("body", "sites"))
        return  # as pydantic does: an over-long list is one error, its items unchecked
    for start in range(0, len(sites), SLICE):
        yield
        known_only = [
            _known_names(errors, site, start + offset)
            for offset, site in enumerate(sites[start : start + SLICE])
        ]
        try:
            _SITES.validate_json(_ENCODE(known_only))
        except ValidationError as exc:
            add_pydantic(errors, exc, ("body", "sites"), functools.partial(_shifted, start))


def _known_names(errors: ErrorList, site: Any, index: int) -> Any:
    """``site`` without the names a site cannot have, each counted as an error."""
    if not isinstance(site, dict) or _SITE_FIELDS.issuperset(site):
        return site
    _unknown_names(errors, ["body", "sites", index], [k for k in site if k not in _SITE_FIELDS])
    return {key: value for key, value in site.items() if key in _SITE_FIELDS}


def _unknown_names(errors: ErrorList, loc: Loc, names: Iterable[str]) -> None:
    """Each name is an ``extra_forbidden`` error, as pydantic would say; counted past the cap."""
    unknown = list(names)
    for listed, name in enumerate(unknown):
        if not errors.describing:
            errors.count(len(unknown) - listed)
            return
        errors.add([*loc, name], "extra_forbidden", "Extra inputs are not permitted")


def _shifted(start: int, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A slice's error location as the report's: the slice's index plus ``start``."""
    index, *rest = loc
    return (index + start if isinstance(index, int) else index, *rest)
