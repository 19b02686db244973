import pytest

from prefect_imbrace.local.engine.errors import StepFailed
from prefect_imbrace.local.engine.templates import REDACTED, Scope, resolve

SCOPE = Scope(
    {
        "trigger": {"body": {"x": 3, "items": [{"id": "a"}, {"id": "b"}], "name": "Ann",
                             "flag": True, "none": None}},
        "step_1": {"body": {"ok": 1}, "status": 200},
        "loop_1": {"item": {"k": "v"}, "index": 2},
    },
    connections={"slack": {"type": "SECRET_TEXT", "secret_text": "xoxb-1"},
                 "basic": {"type": "BASIC_AUTH", "username": "u", "password": "p"},
                 "custom": {"type": "CUSTOM_AUTH", "props": {"token": "t"}}},
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{trigger.body.x}}", 3),
        ("{{ trigger.body }}", SCOPE.values["trigger"]["body"]),
        ("{{trigger['body']['x']}}", 3),
        ('{{trigger["body"].items[1].id}}', "b"),
        ("{{trigger.body.items[-1]['id']}}", "b"),
        ("{{step_1.body.ok}}", 1),
        ("{{step_1.output.body.ok}}", 1),
        ("{{step_1.status}}", 200),
        ("{{loop_1.item.k}}", "v"),
        ("{{loop_1.index}}", 2),
        ("{{trigger.body.missing}}", ""),  # the engine's `result ?? ''`
        ("{{nobody.x}}", ""),
        ("{{trigger.body.none}}", ""),
        (" {{trigger.body.x}}", " 3"),  # only a string that is exactly one template keeps the value
        ("{{trigger.body.items.length}}", 2),
        ("{{connections['slack']}}", "xoxb-1"),
        ("{{connections.basic.username}}", "u"),
        ("{{connections['custom'].token}}", "t"),
        ("plain text", "plain text"),
        ("x={{trigger.body.x}}!", "x=3!"),
        ("{{trigger.body.name}} {{trigger.body.flag}} [{{trigger.body.none}}]", "Ann true []"),
        ("obj {{step_1.body}}", 'obj {"ok":1}'),
        ("{{trigger.body.missing}}-", "-"),
    ],
)
def test_resolution(template, expected):
    assert resolve(template, SCOPE) == expected


def test_resolves_recursively_and_keeps_non_strings():
    value = {"a": ["{{trigger.body.x}}", 5, None, {"b": "{{step_1.status}}"}], "n": True}
    assert resolve(value, SCOPE) == {"a": [3, 5, None, {"b": 200}], "n": True}


def test_censored_scope_hides_connection_values():
    censored = Scope(SCOPE.values, SCOPE.connections, censor=True)
    assert resolve({"auth": "Bearer {{connections['slack']}}"}, censored) == {
        "auth": f"Bearer {REDACTED}"}


def test_unknown_connection_fails_clearly():
    with pytest.raises(StepFailed, match="connection 'nope' was not found"):
        resolve("{{connections['nope']}}", SCOPE)


@pytest.mark.parametrize("template", ["{{trigger.body.x + 1}}", "{{ 1 }}", "{{a.b(}}"])
def test_javascript_expressions_fail_with_a_clear_message(template):
    with pytest.raises(StepFailed, match="only paths"):
        resolve(template, SCOPE)
