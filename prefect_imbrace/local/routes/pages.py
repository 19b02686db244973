"""Read-only HTML pages under `/_local/ui` (no API key; each page checks its link's token).

`GET /_local/ui` says which service answers, so a client can tell Imbrace Local from a real
gateway before it writes links to these pages (see `prefect_imbrace.observability.run_url`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from ..backend.pages import PageDenied, Pages, denied_page
from ..page_links import PAGES_PATH, SERVICE
from ._common import backend, endpoint, ok

router = APIRouter()
# Pages carry their token in the URL: keep it out of caches and of Referer headers.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def _pages(request: Request) -> Pages:
    b = backend(request)
    return Pages(b.store, b.tenancy, b.flows)


def _html(render: object, request: Request, entity_id: str) -> Response:
    token = request.query_params.get("token")
    base = str(request.base_url).rstrip("/")
    try:
        body = render(entity_id, token, base)  # type: ignore[operator]
    except PageDenied:
        return HTMLResponse(denied_page(), status_code=401, headers=HEADERS)
    return HTMLResponse(body, headers=HEADERS)


@endpoint(router, ["GET"], PAGES_PATH, "Which service serves the pages", spec=False)
async def pages_root(request: Request) -> Response:
    return ok({"service": SERVICE, "pages": PAGES_PATH + "/{runs|flows}/{id}?token=..."})


@endpoint(router, ["GET"], PAGES_PATH + "/runs/{id}", "A run's read-only page", spec=False)
async def run_page(request: Request) -> Response:
    return _html(_pages(request).run_page, request, request.path_params["id"])


@endpoint(router, ["GET"], PAGES_PATH + "/flows/{id}", "A flow's read-only page", spec=False)
async def flow_page(request: Request) -> Response:
    return _html(_pages(request).flow_page, request, request.path_params["id"])
