"""The docs site builds in strict mode and its API reference covers the whole public surface."""

from __future__ import annotations

import html
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import prefect_imbrace

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_MODULES = (
    "prefect_imbrace.client",
    "prefect_imbrace.credentials",
    "prefect_imbrace.tasks",
    "prefect_imbrace.flows",
    "prefect_imbrace.jobs",
    "prefect_imbrace.local",
    "prefect_imbrace.as_code",
    "prefect_imbrace.deployments.steps",
)
# one xdist worker builds the site (the module fixture) once for every test here
pytestmark = pytest.mark.xdist_group("docs-site")
HEADING = re.compile(r'<h\d id="([^"]+)" class="doc doc-heading">(.*?)</h\d>', re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def documented_names(site: Path) -> set[str]:
    """Every object the reference renders: the last part of its anchor and its heading text."""
    names: set[str] = set()
    for page in (site / "reference").rglob("*.html"):
        for anchor, heading in HEADING.findall(page.read_text()):
            names.add(anchor.rsplit(".", 1)[-1])
            text = html.unescape(re.sub(r"<[^>]+>", "", heading)).replace("¶", "").strip()
            names.add(text.rsplit(".", 1)[-1])
    return names


def test_docs_build_strictly_with_every_page(site: Path):
    for page in ("index.html", "getting-started/index.html", "reference/index.html",
                 "how-to/test-with-imbrace-local/index.html", "imbrace-local/index.html"):
        assert (site / page).is_file(), page


def test_reference_covers_every_public_name(site: Path):
    names = documented_names(site)
    missing = sorted(set(prefect_imbrace.__all__) - names)
    assert not missing, f"not in the API reference: {missing}"
    package_page = (site / "reference" / "package" / "index.html").read_text()
    unlisted = [n for n in prefect_imbrace.__all__ if f"<code>{n}</code></a>" not in package_page]
    assert not unlisted, f"not linked from the prefect_imbrace page: {unlisted}"


@pytest.mark.parametrize("module", DOCUMENTED_MODULES)
def test_reference_covers_each_documented_module(site: Path, module: str):
    public = getattr(importlib.import_module(module), "__all__", [])
    missing = sorted(set(public) - documented_names(site))
    assert not missing, f"{module}: not in the API reference: {missing}"
