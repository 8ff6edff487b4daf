"""Screenshot Knotwork pages with Debian's chromium, optionally signed in as a demo account.

    .venv/bin/python tools/screenshot.py URL OUT.png [URL OUT.png ...] [--as therapist@harbour.example]
        [--width 1280] [--height 900] [--full]

Signing in uses the demo password and `knotwork demo-code`, so it works against a demo database
served by `make run`. One sign-in serves every page given (a one-time code is accepted once).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("pairs", nargs="+", metavar="URL OUT", help="page address and PNG path, repeated")
    p.add_argument("--as", dest="login")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=900)
    p.add_argument("--full", action="store_true", help="the whole page, not just the viewport")
    p.add_argument("--overflow", action="store_true", help="also print pages wider than the viewport and their widest elements")
    a = p.parse_args()
    if len(a.pairs) % 2:
        p.error("give pairs of URL and output path")
    pairs = list(zip(a.pairs[::2], a.pairs[1::2], strict=True))
    origin = "/".join(pairs[0][0].split("/", 3)[:3])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        page = browser.new_page(viewport={"width": a.width, "height": a.height})
        if a.login:
            page.goto(origin + "/accounts/login/")
            page.get_by_label("Email").fill(a.login)
            page.get_by_label("Password").fill("knotwork-demo")
            page.get_by_role("button", name="Sign In").click()
            page.wait_for_load_state("networkidle")
            knotwork = Path(sys.executable).with_name("knotwork")
            for _attempt in range(3 if "/accounts/2fa/authenticate" in page.url else 0):  # clients have no code
                code = subprocess.run([str(knotwork), "demo-code", a.login], capture_output=True, text=True, check=True).stdout.strip()
                page.get_by_label("Code").fill(code)
                page.get_by_role("button", name="Sign In").click()
                page.wait_for_load_state("networkidle")
                if "/accounts/2fa/authenticate" not in page.url:
                    break
                time.sleep(31 - time.time() % 30)  # that code was used already: wait for the next one
        for url, out in pairs:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out, full_page=a.full)
            if a.overflow:
                report_overflow(page, url, a.width)
        browser.close()


WIDEST = """(limit) => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > limit + 1 && !(e.parentElement && e.parentElement.closest('.table-wrap, .table-scroll, pre')))
    .map(e => [Math.round(e.getBoundingClientRect().right), e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')])
    .sort((x, y) => y[0] - x[0]).slice(0, 4)"""


def report_overflow(page, url: str, width: int) -> None:
    """A page wider than the viewport scrolls sideways: name it and the elements that stick out."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        print(f"OVERFLOW {url}: {scroll} px wide at {width}: {page.evaluate(WIDEST, width)}")


if __name__ == "__main__":
    main()
