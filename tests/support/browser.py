"""A headless Chromium (Debian ``chromium`` + ``chromium-driver``) driven by Selenium, for the console tests.

Nothing is downloaded: the driver path is passed explicitly, so Selenium Manager never runs. When the
browser, the driver or Selenium is missing, :func:`chromium_or_skip` skips with the reason.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

__all__ = ["chromium_or_skip", "is_blank_png", "start_chromium"]

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--hide-scrollbars", "--force-device-scale-factor=1")


def _find(env: str, *names: str) -> str | None:
    found = os.environ.get(env)
    if found:
        return found if Path(found).exists() else None
    return next((path for name in names if (path := shutil.which(name))), None)


def chromium_or_skip() -> tuple[str, str]:
    """(browser, driver) paths, or skip the test module naming what to install."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
    browser = _find("POLYAD_CHROMIUM", "chromium", "chromium-browser")
    driver = _find("POLYAD_CHROMEDRIVER", "chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path)
        pytest.skip(f"{missing} not found: install the Debian packages chromium and chromium-driver "
                    "(or set POLYAD_CHROMIUM / POLYAD_CHROMEDRIVER)")
    return browser, driver


def start_chromium(browser: str, driver: str, profile: Path | None = None) -> Any:
    """A Selenium Chrome session on the system Chromium with the flags of a sandboxed CI runner."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile or tempfile.mkdtemp(prefix='polyad-chromium-')}")
    options.add_argument("--window-size=1280,800")
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    session.set_page_load_timeout(30)
    return session


def is_blank_png(data: bytes) -> bool:
    """True when a screenshot is (nearly) one colour: nothing rendered."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    return float(pixels.std()) < 8.0 or len(np.unique(pixels.astype(np.uint8))) < 16
