"""Links to Imbrace Local's read-only HTML pages, each carrying a token signed for one run or flow.

Why a signed token and not the API key: a link lands in Prefect artifacts and events, which
many people read. The token is an HMAC of the page (kind and id) under the credential that
started the run, so it opens that one page and nothing else, and it cannot be turned back into
the credential. Imbrace Local checks it against the credentials of the run's organisation; a
page asked for without it (or with another page's token) answers 401.

This module has no dependencies so that the client side (artifacts, events) and Imbrace Local
both use the same two functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

PAGES_PATH = "/_local/ui"
"""Where Imbrace Local serves its pages; `GET {gateway}/_local/ui` answers who it is (no auth)."""

SERVICE = "imbrace-local"


def page_token(credential: str, kind: str, entity_id: str) -> str:
    """The token of one page (`kind` "runs" or "flows", an id) under an API key or access token."""
    digest = hmac.new(
        credential.encode(), f"imbrace-local-page:{kind}:{entity_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def page_url(gateway: str, credential: str, kind: str, entity_id: str) -> str:
    """`{gateway}/_local/ui/{kind}/{id}?token=...`: the page of one run or flow."""
    token = page_token(credential, kind, entity_id)
    return f"{gateway.rstrip('/')}{PAGES_PATH}/{kind}/{quote(entity_id)}?token={token}"
