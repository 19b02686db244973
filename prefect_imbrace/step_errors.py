"""Reading a failed step's `errorMessage`, whatever form the engine stored it in.

One reader for the whole package: the run model (`FlowRun.error_message`, `StepResult.error_text`),
the wait's errors, artifacts, events and Imbrace Local's run pages all show what it returns.
It imports nothing but the standard library, so Imbrace Local (which never imports the client)
uses it too.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["error_text"]

_STACK_LINE = re.compile(r"^\s+at\s")
_BODY_MESSAGE_KEYS = ("message", "error", "description", "detail", "msg")


def _body_detail(body: Any) -> str:
    """The telling part of an HTTP error body: its message field, its text, or its JSON."""
    if body is None or body == "" or body == {}:
        return ""
    if isinstance(body, str):
        return " ".join(body.split())
    if isinstance(body, dict):
        for key in _BODY_MESSAGE_KEYS:
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value:
                return value
    return json.dumps(body, sort_keys=True, default=str)


def _node_inspection(text: str) -> str:
    """Node's inspection of an error (`Error: boom` then `    at ...` lines) without the stack."""
    lines: list[str] = []
    for line in text.splitlines():
        if _STACK_LINE.match(line):
            break
        lines.append(line.strip())
    return " ".join(part for part in lines if part) or text.strip()


def error_text(value: Any) -> str | None:
    """A step's `errorMessage` as one readable line of text, whatever its form.

    The 0.72.4 engine stores a string: the error's message re-printed as indented JSON when it
    is JSON (an HTTP step's `{"response": {"status": 500}, "request": {}}` reads `HTTP 500`, with
    the answer's message when it has one), otherwise Node's inspection of the error, read here
    without its stack. Older engines and Imbrace Local before 0.72.4 fidelity stored an object,
    `{"message": ...}`, which reads as its message.
    """
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"'):
            try:
                parsed = json.loads(text)
            except ValueError:
                pass
            else:
                return error_text(parsed) if parsed not in (None, "", {}) else text
        return _node_inspection(text)
    if isinstance(value, dict):
        message = value.get("message")
        if isinstance(message, str) and message:
            return error_text(message)
        response = value.get("response")
        if isinstance(response, dict) and "status" in response:
            detail = _body_detail(response.get("body"))
            return f"HTTP {response['status']}" + (f": {detail}" if detail else "")
    return json.dumps(value, sort_keys=True, default=str)
