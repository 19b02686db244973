"""Every example script runs end to end as `uv run python flows/<name>.py` would run it."""

from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.mark.parametrize(
    ("module", "argv", "expected"),
    [
        ("recurring_trigger", [], "SUCCEEDED, payload {'received': {'source': 'prefect-schedule'}"),
        ("event_chaining", [], "Prefect received imbrace.flow-run.succeeded"),
        ("table_pipeline", ["--count", "3"], "ORD-0003  Barbara    105  high"),
        ("observe_runs", [], "The observer emitted 3 imbrace.flow-run.* events."),
    ],
)
def test_example_script_runs_on_its_own_local_engine(module, argv, expected, capsys):
    assert importlib.import_module(module).main(argv) == 0
    printed = capsys.readouterr().out
    assert "started Imbrace Local" in printed
    assert expected in printed
