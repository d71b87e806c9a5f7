"""Headless Chromium screenshots of the course's pages (shared by the tests that look at them)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000):
    """Render ``page`` (an HTML file) in headless Chromium into ``png``; return its pixels (RGB, 0..1).

    Skips the test where no Chromium is installed (CI installs it, see .ci/run).
    """
    import matplotlib.image as mpimg

    browser = chromium()
    if browser is None:
        pytest.skip("no chromium binary found")
    profile_dir = tempfile.mkdtemp()
    try:
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile_dir}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                Path(page).resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(profile_dir, ignore_errors=True)
    assert png.is_file(), "chromium wrote no screenshot"
    return mpimg.imread(png)[:, :, :3]
