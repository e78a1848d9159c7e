"""Source: a OneRoster 1.1 REST server, ClassLink's among them (DESIGN §5).

`fetch(config)` reads every page of the collections Rollcall needs from
`{base}/ims/oneroster/v1p1/<collection>` with `limit`/`offset` paging (sorted by
`sourcedId`, so pages are stable), saves each page verbatim as a JSON file in a temporary
folder that is always removed, and yields the folder for the `oneroster_json` format.

Auth and paging are `syncs.clients.oneroster`: OAuth 1.0a signed requests (HMAC-SHA256,
or HMAC-SHA1) or OAuth 2 client credentials (a bearer token, cached until shortly before
it expires).

Anything that stops a required collection before its last page fails the run before
anything is applied (`credentials` on 401/403, `source_unavailable` otherwise): a partial
download is a failure, never a smaller roster. A 404 on an optional collection
(demographics, academicSessions, courses) only leaves it out.

Secrets (the client secret, bearer tokens) travel in headers only and never appear in
logs, messages or diagnostics.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncs import progress
from syncs.clients.http import NotFound
from syncs.clients.oneroster import (
    RETRIES,
    SCOPE,
    Client,
    base_url,
    clear_token_cache,
    page_size,
)
from syncs.errors import SyncFailure
from syncs.models import FailureReason, RosterFormat, SourceKind, SyncConfig
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

# (collection, required). Courses carry nothing Rollcall stores, so they are not read.
COLLECTIONS: tuple[tuple[str, bool], ...] = (
    ("orgs", True),
    ("academicSessions", False),
    ("demographics", False),
    ("users", True),
    ("classes", True),
    ("enrollments", True),
)
# What the fetch wrote next to the pages: which optional collections the server lacks.
FETCH_INFO = "_fetch.json"
# Names other modules and tests read here.
__all__ = ["RETRIES", "SCOPE", "base_url", "clear_token_cache", "fetch", "test_connection"]


def _save_page(folder: Path, name: str, index: int, response, records: list) -> None:
    progress.advance(len(records))
    path = folder / f"{name}.{index:05d}.json"
    if response is not None and response.content:
        path.write_bytes(response.content)  # verbatim, as the server sent it
    else:
        path.write_text(json.dumps({name: records}), encoding="utf-8")


@contextmanager
def fetch(config: SyncConfig, *, limit: int | None = None) -> Iterator[Path]:
    """Yield a folder holding every page of the collections, complete, or fail the run."""
    limit = limit or page_size()
    client = Client(config)
    tmp = Path(tempfile.mkdtemp(prefix="rollcall-oneroster-"))
    try:
        started = time.perf_counter()
        counts: dict[str, int] = {}
        missing: list[str] = []
        try:
            for name, required in COLLECTIONS:
                try:
                    counts[name] = client.collection(
                        name,
                        limit,
                        lambda i, r, recs, n=name: _save_page(tmp, n, i, r, recs),
                    )
                except NotFound as failure:
                    if required:
                        raise SyncFailure(
                            FailureReason.SOURCE_UNAVAILABLE,
                            f"OneRoster {name} was not found (HTTP 404) at "
                            f"{client.base}/{name}; check the server URL. Nothing was "
                            "changed.",
                            failure.details,
                        ) from failure
                    for stale in tmp.glob(f"{name}.*.json"):
                        stale.unlink()
                    missing.append(name)
                    logger.info("OneRoster: optional collection %s not found; skipped", name)
        finally:
            client.close()
        (tmp / FETCH_INFO).write_text(
            json.dumps({"base": client.base, "counts": counts, "missing": missing}),
            encoding="utf-8",
        )
        logger.info(
            "Sync config %s: read %s from %s in %d request(s), %.1f s",
            config.pk,
            ", ".join(f"{n} {c}" for n, c in counts.items()),
            client.base,
            client.requests,
            time.perf_counter() - started,
        )
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- connection test


@dataclass
class OneRosterConnectionReport(ConnectionReport):
    """A connection test of a OneRoster server: the district it serves and its schools."""

    organization: str = ""  # the district (or tenant) org's name
    schools: list[str] = field(default_factory=list)  # configured school IDs the server has
    where: str = "the OneRoster server"


def test_connection(config: SyncConfig, *, limit: int | None = None) -> OneRosterConnectionReport:
    """Sign in, read the orgs, and say which configured school IDs the server has.
    Never raises for a failure it can explain."""
    from syncs.rules.scope import near_matches

    orgs: list[dict] = []
    try:
        client = Client(config)
        try:
            client.collection(
                "orgs",
                limit or page_size(),
                lambda _i, _r, recs: orgs.extend(o for o in recs if isinstance(o, dict)),
            )
        finally:
            client.close()
    except SyncFailure as failure:
        return OneRosterConnectionReport(ok=False, message=failure.message)

    def text(value: Any) -> str:
        return "" if value is None else str(value).strip()

    active = [o for o in orgs if text(o.get("status")).lower() not in ("tobedeleted", "inactive")]
    schools = {
        text(o.get("sourcedId")): text(o.get("name"))
        for o in active
        if text(o.get("type")).lower() == "school" and text(o.get("sourcedId"))
    }
    districts = [
        text(o.get("name")) for o in active if text(o.get("type")).lower() == "district"
    ] or [text(o.get("name")) for o in active if text(o.get("type")).lower() != "school"]
    organization = ", ".join(n for n in districts if n)
    wanted = [str(s) for s in config.school_ids or []]
    found = [s for s in wanted if s in schools]
    missing = [s for s in wanted if s not in schools]
    near = {s: near_matches(s, schools) for s in missing}
    parts = [
        f"Signed in to {client.base} with OAuth {'2' if client.auth.oauth2 else '1.0a'} "
        f"as client {client.auth.client_id!r}.",
        f"District: {organization or '(no district org)'}; {len(schools)} school(s).",
    ]
    if wanted:
        parts.append(f"Configured schools found: {', '.join(found) or 'none'}.")
    if missing:
        described = [
            s + (f" (did you mean {', '.join(near[s])}?)" if near[s] else "") for s in missing
        ]
        parts.append(f"Not on the server: {', '.join(described)}.")
    # ok: the credentials work and the orgs were read; missing schools are listed apart.
    return OneRosterConnectionReport(
        ok=True,
        files=sorted(schools),
        organization=organization,
        schools=found,
        missing_schools=missing,
        near_matches={k: v for k, v in near.items() if v},
        message=" ".join(parts),
    )


test_connection.__test__ = False  # a service, not a test: keep pytest from collecting it


class OneRosterApiSource(Source):
    """OneRoster API (DESIGN §5): its pages are saved as JSON and parsed as its own format."""

    kind = SourceKind.ONEROSTER_API
    format = RosterFormat.ONEROSTER_JSON
    fields = (
        "api_url",
        "oauth_version",
        "oauth_signature",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_token_url",
    )
    secrets = ("oauth_client_secret",)
    preflight = "connection"
    command = "oneroster"
    config_name = "OneRoster API"
    option_group = "APIs (--source clever | oneroster)"
    options = (
        URL_OPTION,
        Option(("--client-id",), help="OneRoster OAuth client ID."),
        Option(
            ("--client-secret",),
            help="OneRoster OAuth client secret (or ROLLCALL_CLIENT_SECRET).",
        ),
        Option(("--oauth",), help="OAuth 1.0a (default) or 2.0.", choices=("1", "2")),
        Option(
            ("--signature",),
            help="OAuth 1.0a signature method (default HMAC-SHA256).",
            choices=("HMAC-SHA256", "HMAC-SHA1"),
        ),
        Option(("--token-url",), help="OAuth 2 token endpoint (default {url}/token)."),
    )

    def fetch(self, config):
        return fetch(config)

    def test_connection(self, config):
        return test_connection(config)

    def option_values(self, opts, current):
        """Anything left out keeps what the config already has."""
        config = current()
        values = api_url_value(opts, config)
        for option, name in (
            ("client_id", "oauth_client_id"),
            ("oauth", "oauth_version"),
            ("signature", "oauth_signature"),
            ("token_url", "oauth_token_url"),
        ):
            if opts.get(option):
                values[name] = opts[option]
        secret = env_or(opts, "client_secret", "ROLLCALL_CLIENT_SECRET")
        if secret:
            values["oauth_client_secret"] = secret
        client_id = values.get("oauth_client_id", config.oauth_client_id)
        if not (client_id and (secret or config.oauth_client_secret)):
            raise OptionError(
                "A OneRoster sync needs --client-id and --client-secret "
                "(or ROLLCALL_CLIENT_SECRET)."
            )
        return values
