"""Source: the Clever API v3.0 (DESIGN §5), read with a district's bearer token.

`fetch(config)` reads every page of the district's collections and saves each page,
verbatim, as a JSON file in a temporary folder that is always removed, then yields it for
`syncs.formats.clever_api` to parse:

- `districts-0001.json`, `schools-0001.json`, `users-0001.json`, `users-0002.json`, ...,
  `sections-0001.json`, ... and `terms-0001.json` when the district shares terms;
- `index.json`: which collections were read, their pages in order, and their item counts.

Paging: each request asks for `limit` items (at most 10000: Clever answers 413 above it)
and the next page is the `links` entry with `rel: "next"` (a path such as
`/v3.0/users?starting_after=<id>`), followed until there is none. The next link is always
resolved against the configured base URL, so the token is never sent to another host.

All or nothing: a failure on any page of a required collection (after the session's
retries on 429 and 5xx) fails the run before anything is parsed, so a partial pull never
looks like a smaller roster. districts, schools, users and sections are required; only
`terms` (used for term names) is optional: a 404 there is recorded and the sections keep
their `term_id`.

The token travels in the `Authorization` header only: it is never in a URL, a message,
diagnostics or the log.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from syncs import progress
from syncs.clients.http import NotFound, check_url, get_json, new_session
from syncs.errors import SyncFailure
from syncs.models import FailureReason, RosterFormat, SourceKind, SyncConfig
from syncs.rules.scope import near_matches
from syncs.sources.base import (
    URL_OPTION,
    ConnectionReport,
    Option,
    OptionError,
    Source,
    api_url_value,
    env_or,
)

logger = logging.getLogger(__name__)

API_VERSION = "v3.0"
MAX_LIMIT = 10000  # Clever answers 413 above this
PAGE_SIZE = MAX_LIMIT
MAX_PAGES = 100_000  # a guard against a server whose `next` never ends
INDEX = "index.json"

# (collection, required). Required collections fail the run on any error, 404 included.
COLLECTIONS: tuple[tuple[str, bool], ...] = (
    ("districts", True),
    ("schools", True),
    ("users", True),
    ("sections", True),
    ("terms", False),
)


@dataclass
class CleverConnectionReport(ConnectionReport):
    """A connection test of a Clever token: the district it reads and its schools."""

    district: str = ""  # the district's name
    school_ids: list[str] = field(default_factory=list)  # every school the token sees
    where: str = "Clever"

    @property
    def missing_school_ids(self) -> list[str]:  # configured, not found
        return self.missing_schools


def base_url(config: SyncConfig) -> str:
    return check_url(config.api_url or "https://api.clever.com")


def _session(config: SyncConfig, session: requests.Session | None) -> requests.Session:
    token = (config.api_token or "").strip()
    if not token:
        raise SyncFailure(
            FailureReason.CREDENTIALS,
            "No Clever district token is set on this sync config. Paste the district's "
            "token from the Clever dashboard, then sync again.",
            {},
        )
    session = session or new_session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.headers["Accept"] = "application/json"
    return session


def _with_limit(url: str, limit: int) -> str:
    """`url` with `limit` set when the server's next link left it out."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k == "limit" for k, _v in query):
        query.append(("limit", str(limit)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _resolve(base: str, uri: str, collection: str) -> str:
    """The absolute URL of a `links` URI, on the configured server only."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc:
        origin = urlsplit(base)
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"Clever {collection}: the next page points at another server "
                f"({parts.scheme}://{parts.netloc}); the pull was stopped and nothing was "
                "changed.",
                {"next": uri},
            )
        return uri
    return base + ("" if uri.startswith("/") else "/") + uri


def _next_uri(page: dict[str, Any]) -> str | None:
    for link in page.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("uri"):
            return str(link["uri"])
    return None


def _pages(
    session: requests.Session, base: str, collection: str, limit: int
) -> Iterator[dict[str, Any]]:
    """Every page of one collection, in order; any failure raises SyncFailure."""
    url = f"{base}/{API_VERSION}/{collection}?{urlencode({'limit': limit})}"
    seen: set[str] = set()
    number = 0
    while url:
        number += 1
        if url in seen or number > MAX_PAGES:
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"Clever {collection}: the server's next page repeats an earlier one "
                f"(page {number}); the pull was stopped and nothing was changed.",
                {"url": url, "page": number},
            )
        seen.add(url)
        page = get_json(session, url, what=f"Clever {collection} (page {number})")
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise SyncFailure(
                FailureReason.SOURCE_UNAVAILABLE,
                f"Clever {collection} (page {number}): the answer has no `data` list (a "
                "malformed page); nothing was changed.",
                {"url": url, "page": number},
            )
        yield page
        uri = _next_uri(page)
        url = _with_limit(_resolve(base, uri, collection), limit) if uri else ""


def pull(
    config: SyncConfig,
    folder: Path,
    *,
    session: requests.Session | None = None,
    page_size: int | None = None,
) -> dict[str, Any]:
    """Save every page of every collection into `folder`; return the index written."""
    base = base_url(config)
    limit = max(1, min(page_size or PAGE_SIZE, MAX_LIMIT))
    index: dict[str, Any] = {"source": "clever_api", "version": API_VERSION, "collections": {}}
    with _session(config, session) as http:
        for collection, required in COLLECTIONS:
            entry: dict[str, Any] = {"pages": [], "items": 0, "found": True}
            try:
                for page in _pages(http, base, collection, limit):
                    name = f"{collection}-{len(entry['pages']) + 1:04d}.json"
                    (folder / name).write_text(json.dumps(page), encoding="utf-8")
                    entry["pages"].append(name)
                    entry["items"] += len(page["data"])
                    progress.advance(len(page["data"]))
            except NotFound:
                if required:
                    raise
                # An optional collection the district does not share: nothing of it is
                # used, not even pages read before the 404.
                for name in entry["pages"]:
                    (folder / name).unlink(missing_ok=True)
                entry = {"pages": [], "items": 0, "found": False}
            index["collections"][collection] = entry
    (folder / INDEX).write_text(json.dumps(index, indent=1), encoding="utf-8")
    return index


@contextmanager
def fetch(
    config: SyncConfig,
    *,
    session: requests.Session | None = None,
    page_size: int | None = None,
) -> Iterator[Path]:
    """Yield a folder holding every page of the district's data, complete, or fail."""
    tmp = Path(tempfile.mkdtemp(prefix="rollcall-clever-"))
    try:
        index = pull(config, tmp, session=session, page_size=page_size)
        logger.info(
            "Sync config %s: read Clever %s",
            config.pk,
            ", ".join(
                f"{name} {entry['items']} in {len(entry['pages'])} page(s)"
                if entry["found"]
                else f"{name} not shared"
                for name, entry in index["collections"].items()
            ),
        )
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_connection(
    config: SyncConfig, *, session: requests.Session | None = None
) -> CleverConnectionReport:
    """Check the token: the district it reads, its schools, and the configured school IDs.
    Never raises for a failure it can explain."""
    try:
        base = base_url(config)
        with _session(config, session) as http:
            districts = [
                item.get("data") or {}
                for page in _pages(http, base, "districts", MAX_LIMIT)
                for item in page["data"]
                if isinstance(item, dict)
            ]
            school_ids = [
                str((item.get("data") or {}).get("id", ""))
                for page in _pages(http, base, "schools", MAX_LIMIT)
                for item in page["data"]
                if isinstance(item, dict)
            ]
    except SyncFailure as failure:
        return CleverConnectionReport(ok=False, message=failure.message)

    school_ids = sorted(dict.fromkeys(s for s in school_ids if s))
    names = [str(d.get("name") or d.get("id") or "?") for d in districts]
    district = ", ".join(names)
    wanted = [str(s) for s in config.school_ids or ()]
    missing = [s for s in wanted if s not in school_ids]
    parts = [
        f"Connected to {base}: the token is valid"
        + (f" for district {district}." if district else ", but it sees no district.")
    ]
    parts.append(f"{len(school_ids)} school(s): {', '.join(school_ids) if school_ids else 'none'}.")
    if missing:
        described = []
        for m in missing:
            near = near_matches(m, school_ids)
            described.append(f"{m} (did you mean {', '.join(near)}?)" if near else m)
        parts.append(
            "Configured school ID(s) not found in Clever: " + "; ".join(described) + ". "
            "A sync would fail until they are corrected (Clever school IDs are its `id`s)."
        )
    elif wanted:
        parts.append(f"All {len(wanted)} configured school ID(s) were found.")
    return CleverConnectionReport(
        ok=bool(districts) and not missing,
        district=district,
        school_ids=school_ids,
        missing_schools=missing,
        near_matches={m: near_matches(m, school_ids) for m in missing},
        message=" ".join(parts),
    )


test_connection.__test__ = False  # a service, not a test: keep pytest from collecting it


class CleverApiSource(Source):
    """Clever API (DESIGN §5): its pages are saved as JSON and parsed as its own format."""

    kind = SourceKind.CLEVER_API
    format = RosterFormat.CLEVER_API_JSON
    fields = ("api_url", "api_token")
    secrets = ("api_token",)
    preflight = "connection"
    command = "clever"
    config_name = "Clever API"
    option_group = "APIs (--source clever | oneroster)"
    options = (
        URL_OPTION,
        Option(("--token",), help="Clever district token (or ROLLCALL_API_TOKEN)."),
    )

    def fetch(self, config):
        return fetch(config)

    def test_connection(self, config):
        return test_connection(config)

    def option_values(self, opts, current):
        """Anything left out keeps what the config already has."""
        config = current()
        values = api_url_value(opts, config)
        token = env_or(opts, "token", "ROLLCALL_API_TOKEN")
        if token:
            values["api_token"] = token
        if not (token or config.api_token):
            raise OptionError("A Clever sync needs --token (or ROLLCALL_API_TOKEN).")
        return values
