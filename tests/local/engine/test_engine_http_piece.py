"""The HTTP piece against a real loopback server (no mocks)."""

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from engine_builders import chain, mapper, piece, webhook_trigger

from prefect_imbrace.local.engine import RunContext, execute_run, webhook_output

HTTP = "@activepieces/piece-http"
CALLS: Counter = Counter()


class _Handler(BaseHTTPRequestHandler):
    def _answer(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        CALLS[parts.path] += 1
        if parts.path == "/fail":
            status, payload = 422, {"error": "nope"}
        elif parts.path.startswith("/flaky") and CALLS[parts.path] < 3:
            status, payload = 503, {"try": CALLS[parts.path]}
        elif parts.path == "/text":
            status, payload = 200, None
        else:
            status, payload = 200, {
                "method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        data = b"hello" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain" if payload is None else "application/json")
        self.send_header("x-served-by", "loopback")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def request_step(name="step_1", settings=None, **inputs):
    return piece(name, HTTP, "send_request", {"method": "GET", "headers": {}, "queryParams": {},
                                              **inputs}, settings=settings or {})


def ctx(first, **kwargs):
    return RunContext("run", "flow", "ver", "proj", webhook_trigger(first),
                      webhook_output("POST", {}, {"id": 7}, {}, ""), **kwargs)


async def test_get_with_headers_and_query(server_url):
    step = request_step(url=server_url + "/echo", headers={"x-id": "{{trigger.body.id}}"},
                        queryParams={"q": "a b", "n": 3})
    outcome = await execute_run(ctx(step))
    assert outcome.status == "SUCCEEDED"
    output = outcome.steps["step_1"]["output"]
    assert output["status"] == 200 and output["headers"]["x-served-by"] == "loopback"
    assert output["body"]["method"] == "GET"
    assert output["body"]["query"] == {"q": ["a b"], "n": ["3"]}
    assert output["body"]["headers"]["x-id"] == "7"


@pytest.mark.parametrize(
    ("body_type", "data", "expected_body", "content_type"),
    [
        ("json", {"a": 1}, '{"a":1}', "application/json"),
        ("raw", "just-text", "just-text", None),
        ("form_data", {"f": "v"}, 'name="f"', "multipart/form-data"),
    ],
)
async def test_post_bodies(server_url, body_type, data, expected_body, content_type):
    step = request_step(method="POST", url=server_url + "/echo", body_type=body_type,
                        body={"data": data})
    outcome = await execute_run(ctx(step))
    echoed = outcome.steps["step_1"]["output"]["body"]
    assert expected_body in echoed["body"].replace(" ", "")
    if content_type:
        assert echoed["headers"]["content-type"].startswith(content_type)


async def test_text_response_body_is_kept_as_text(server_url):
    outcome = await execute_run(ctx(request_step(url=server_url + "/text")))
    assert outcome.steps["step_1"]["output"]["body"] == "hello"


async def test_non_2xx_fails_the_step(server_url):
    outcome = await execute_run(ctx(chain(request_step(url=server_url + "/fail"),
                                          mapper("step_2", 1))))
    assert outcome.status == "FAILED" and outcome.failed_step["name"] == "step_1"
    message = outcome.steps["step_1"]["errorMessage"]
    assert message == json.dumps({"response": {"status": 422, "body": {"error": "nope"}},
                                  "request": {}}, indent=2)  # re-printed indented, as the engine


async def test_failsafe_returns_the_error_as_output(server_url):
    step = chain(request_step(url=server_url + "/fail", failsafe=True),
                 mapper("step_2", "{{step_1.response.status}}"))
    outcome = await execute_run(ctx(step))
    assert outcome.status == "SUCCEEDED"
    assert outcome.steps["step_2"]["output"] == 422


async def test_retry_on_failure_retries_until_success(server_url):
    options = {"errorHandlingOptions": {"retryOnFailure": {"value": True}}}
    step = request_step(url=server_url + "/flaky-a", settings=options)
    outcome = await execute_run(ctx(step))
    assert outcome.status == "SUCCEEDED"
    assert CALLS["/flaky-a"] == 3


async def test_without_retry_a_flaky_call_fails_once(server_url):
    outcome = await execute_run(ctx(request_step(url=server_url + "/flaky-b")))
    assert outcome.status == "FAILED" and CALLS["/flaky-b"] == 1


async def test_non_loopback_hosts_are_refused_unless_allowed(server_url):
    outcome = await execute_run(ctx(request_step(url="http://example.com/")))
    assert outcome.status == "FAILED"
    assert "example.com" in outcome.steps["step_1"]["errorMessage"]
    port = server_url.rsplit(":", 1)[1]
    allowed = request_step(url=f"http://localhost:{port}/echo")
    assert (await execute_run(ctx(allowed))).status == "SUCCEEDED"
    named = request_step(url=f"http://127.0.0.2.nip.invalid:{port}/echo")
    outcome = await execute_run(ctx(named, http_allow_hosts=frozenset({"127.0.0.2.nip.invalid"})))
    assert outcome.status == "FAILED"  # allowed, but the name does not resolve: a network error
    assert "allow_http_hosts" not in outcome.steps["step_1"]["errorMessage"]


async def test_connection_refused_is_a_step_failure():
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = await execute_run(ctx(request_step(url=f"http://127.0.0.1:{port}/")))
    assert outcome.status == "FAILED"
    # what the engine shows for a request nobody answered (observed on 0.72.4)
    assert outcome.steps["step_1"]["errorMessage"] == (
        '{\n  "response": {\n    "status": 500\n  },\n  "request": {}\n}')


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/x", "http://127.0.0.1:1/\x00x",
                                 "ftp://127.0.0.1/x", "not a url"])
async def test_unusable_urls_fail_the_step_not_the_engine(url):
    outcome = await execute_run(ctx(request_step(url=url)))
    assert outcome.status == "FAILED" and outcome.failed_step["name"] == "step_1"


async def test_secrets_never_appear_in_error_messages():
    secret = "tok-very-secret"
    step = request_step(url="http://{{connections['api']}}.example/")  # the host is refused
    outcome = await execute_run(ctx(step, connections={
        "api": {"type": "SECRET_TEXT", "secret_text": secret}}))
    result = outcome.steps["step_1"]
    assert outcome.status == "FAILED"
    assert secret not in str(result)
    assert "**REDACTED**" in result["input"]["url"]
    assert "**REDACTED**.example" in result["errorMessage"]
