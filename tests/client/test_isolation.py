"""The client imports neither Prefect nor Imbrace Local."""

from __future__ import annotations

import subprocess
import sys


def test_client_imports_no_prefect_and_no_local():
    code = (
        "import prefect_imbrace.client, prefect_imbrace.exceptions, sys\n"
        "bad = [m for m in sys.modules if m == 'prefect' or m.startswith('prefect.')"
        " or m.startswith('prefect_imbrace.local')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
