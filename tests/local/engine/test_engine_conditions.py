import pytest

from prefect_imbrace.local.engine.conditions import (
    OPERATORS,
    evaluate_condition,
    evaluate_groups,
)


def cond(first, operator, second=None, case=False):
    return {"firstValue": first, "secondValue": second, "operator": operator, "caseSensitive": case}


CASES = [
    # operator, first, second, caseSensitive, expected
    ("TEXT_CONTAINS", "Hello World", "world", False, True),
    ("TEXT_CONTAINS", "Hello World", "world", True, False),
    ("TEXT_CONTAINS", {"a": 1}, '"a"', False, True),
    ("TEXT_DOES_NOT_CONTAIN", "Hello", "xyz", False, True),
    ("TEXT_DOES_NOT_CONTAIN", "Hello", "ELL", False, False),
    ("TEXT_EXACTLY_MATCHES", "Abc", "abc", False, True),
    ("TEXT_EXACTLY_MATCHES", "Abc", "abc", True, False),
    ("TEXT_EXACTLY_MATCHES", 5, "5", False, True),
    ("TEXT_DOES_NOT_EXACTLY_MATCH", "a", "b", False, True),
    ("TEXT_DOES_NOT_EXACTLY_MATCH", "a", "A", False, False),
    ("TEXT_START_WITH", "prefix-rest", "PREFIX", False, True),
    ("TEXT_START_WITH", "prefix-rest", "PREFIX", True, False),
    ("TEXT_STARTS_WITH", "prefix-rest", "pre", False, True),
    ("TEXT_DOES_NOT_START_WITH", "abc", "b", False, True),
    ("TEXT_DOES_NOT_START_WITH", "abc", "a", False, False),
    ("TEXT_ENDS_WITH", "file.TXT", ".txt", False, True),
    ("TEXT_ENDS_WITH", "file.TXT", ".txt", True, False),
    ("TEXT_DOES_NOT_END_WITH", "file.txt", ".csv", False, True),
    ("TEXT_DOES_NOT_END_WITH", "file.txt", ".txt", False, False),
    ("NUMBER_IS_GREATER_THAN", "10", 9, False, True),
    ("NUMBER_IS_GREATER_THAN", 1, "2", False, False),
    ("NUMBER_IS_GREATER_THAN", "abc", 1, False, False),
    ("NUMBER_IS_LESS_THAN", 1.5, "2", False, True),
    ("NUMBER_IS_LESS_THAN", 3, 2, False, False),
    ("NUMBER_IS_EQUAL_TO", "3.0", 3, False, True),
    ("NUMBER_IS_EQUAL_TO", 3, 4, False, False),
    ("BOOLEAN_IS_TRUE", True, None, False, True),
    ("BOOLEAN_IS_TRUE", "yes", None, False, True),
    ("BOOLEAN_IS_TRUE", "false", None, False, True),  # JavaScript truthiness, as the engine
    ("BOOLEAN_IS_TRUE", 0, None, False, False),
    ("BOOLEAN_IS_FALSE", False, None, False, True),
    ("BOOLEAN_IS_FALSE", "", None, False, True),
    ("BOOLEAN_IS_FALSE", [], None, False, False),
    ("DATE_IS_BEFORE", "2025-01-01", "2025-06-01T00:00:00Z", False, True),
    ("DATE_IS_BEFORE", "2026-01-01", "2025-06-01", False, False),
    ("DATE_IS_BEFORE", "not a date", "2025-06-01", False, False),
    ("DATE_IS_EQUAL", "2025-01-01T00:00:00Z", "2025-01-01T01:00:00+01:00", False, True),
    ("DATE_IS_EQUAL", "2025-01-01", "2025-01-02", False, False),
    ("DATE_IS_AFTER", "2025-01-02", 1735689600000, False, True),
    ("DATE_IS_AFTER", "2024-01-02", 1735689600000, False, False),
    ("LIST_CONTAINS", ["a", "B"], "b", False, True),
    ("LIST_CONTAINS", ["a", "B"], "b", True, False),
    ("LIST_CONTAINS", '["x", "y"]', "y", False, True),
    ("LIST_CONTAINS", "solo", "solo", False, True),
    ("LIST_CONTAINS", [1, 2], "2", False, True),
    ("LIST_DOES_NOT_CONTAIN", ["a"], "b", False, True),
    ("LIST_DOES_NOT_CONTAIN", ["a"], "A", False, False),
    ("LIST_IS_EMPTY", [], None, False, True),
    ("LIST_IS_EMPTY", "[]", None, False, True),
    ("LIST_IS_EMPTY", [1], None, False, False),
    ("LIST_IS_EMPTY", "text", None, False, False),
    ("LIST_IS_NOT_EMPTY", [0], None, False, True),
    ("LIST_IS_NOT_EMPTY", [], None, False, False),
    ("LIST_IS_NOT_EMPTY", None, None, False, False),
    ("EXISTS", 0, None, False, True),
    ("EXISTS", "", None, False, False),
    ("EXISTS", None, None, False, False),
    ("DOES_NOT_EXIST", None, None, False, True),
    ("DOES_NOT_EXIST", "x", None, False, False),
]


@pytest.mark.parametrize(("operator", "first", "second", "case", "expected"), CASES)
def test_operator(operator, first, second, case, expected):
    assert evaluate_condition(cond(first, operator, second, case)) is expected


def test_every_documented_operator_is_covered():
    assert {c[0] for c in CASES} == OPERATORS


def test_case_insensitive_by_default():
    assert evaluate_condition({"firstValue": "A", "secondValue": "a",
                               "operator": "TEXT_EXACTLY_MATCHES"})


def test_unknown_operator_is_an_error():
    with pytest.raises(ValueError, match="unknown router operator"):
        evaluate_condition(cond("a", "TEXT_IS_FUZZY", "b"))


def test_groups_are_or_of_and():
    true, false = cond(1, "EXISTS"), cond(None, "EXISTS")
    assert evaluate_groups([[true, true]])
    assert not evaluate_groups([[true, false]])
    assert evaluate_groups([[true, false], [true]])
    assert not evaluate_groups([])
    assert evaluate_groups([[]])  # as the engine: an empty AND group holds
    assert not evaluate_groups(None)
