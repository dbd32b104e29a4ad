"""The HTML report, rendered by headless Chromium (Debian's ``chromium``): the page loads
without the network, its script runs, and the timeline draws every use."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from collective.audit import render, report, sync
from collective.deploy import Deployment
from tests.audit.audit_story import run_story
from tests.helpers import World

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian package `chromium`; CI installs it)",
)


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--user-data-dir=" + str(Path(args[-1]).parent / "chromium-profile"),
            *args[:-1],
            "file://" + args[-1],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def page(w: World, suite: Deployment, tmp_path: Path) -> Path:
    run_story(w, flag=True)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    path = tmp_path / "report.html"
    path.write_text(render(report(db, subject=w.patient.address), "html"), encoding="utf-8")
    return path


@needs_chromium
def test_chromium_renders_the_report(page: Path) -> None:
    dumped = headless("--dump-dom", "--virtual-time-budget=2000", str(page))
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    attributes = dict(re.findall(r'data-([a-z]+)="([^"]*)"', body.group(1)))
    assert attributes["rendered"] == "yes"  # the inline script ran
    assert attributes["uses"] == "3"  # every use drawn on the timeline
    assert attributes["flagged"] == "1"
    assert attributes["lanes"] == "2"  # lab and hospital consents
    assert "3 uses drawn on 2 lanes" in dom
    assert "FLAGGED" in dom


@needs_chromium
def test_chromium_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = headless(f"--screenshot={shot}", "--window-size=1100,900", str(page))
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a blank page compresses to a few kB


def test_the_page_is_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "<svg" in text and "<script>" in text
    outside = re.findall(r'(?:src|href)="([^"#]+)"', text)
    assert outside == []
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
