"""Pictures of pages for a look by eye: set KNOTWORK_SCREENSHOTS=/some/dir and the browser tests keep them there."""

from __future__ import annotations

import os


def keep_screenshot(page, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot of ``page`` as ``name`` when KNOTWORK_SCREENSHOTS names a directory; otherwise do nothing."""
    folder = os.environ.get("KNOTWORK_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=full_page)
