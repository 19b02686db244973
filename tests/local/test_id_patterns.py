"""Ids are checked with JavaScript's `$` (end of text), as AJV does: no trailing newline."""

from prefect_imbrace.local.validation import _regex


def test_trailing_newline_is_not_an_id():
    pattern = _regex("^[0-9a-zA-Z]{21}$")
    assert pattern.search("A" * 21)
    assert not pattern.search("A" * 21 + "\n")


def test_engine_rejects_an_id_with_a_trailing_newline(api):
    answer = api.get("/flows/" + "A" * 21 + "%0A")
    assert answer.status_code == 400
    assert answer.json()["code"] == "FST_ERR_VALIDATION"
