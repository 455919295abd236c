"""Screenshots for the README: the sandbox page after the demo, and the web chat widget.

    .venv/bin/python tests/tools/screenshots.py [--out docs]

Starts the sandbox like the browser tests do (a fresh SQLite database in a temp
dir, the app on a free loopback port, the worker in a thread), plays the demo
through it, and saves docs/sandbox.png; and docs/widget.png from /webchat/demo
with the panel open, when this build has that page. Thai and emoji need fonts
in Chromium: apt-get install fonts-thai-tlwg fonts-noto-color-emoji.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from bot.sandbox.demo import play, seed_products  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from tests.live_sandbox import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    listening_socket,
    serve_sandbox,
)


def sandbox_shot(page: Page, url: str, out: Path) -> None:
    page.goto(f"{url}/sandbox")
    page.locator("#channels button[data-channel=line]").click()
    page.locator("#topics button", has_text="สมชาย").click()
    expect(page.locator("#admin-feed")).to_contain_text("A01")
    expect(page.locator("#customer-feed")).to_contain_text("390")
    expect(page.locator("#admin-feed .keyboard button", has_text="➕ A01")).to_be_visible()
    page.evaluate("document.querySelectorAll('.feed').forEach((f) => f.scrollTop = f.scrollHeight)")
    page.screenshot(path=str(out / "sandbox.png"))


def widget_shot(page: Page, url: str, out: Path) -> bool:
    answer = page.goto(f"{url}/webchat/demo?visitor=Anna")
    if answer is None or answer.status != 200:
        return False
    panel = page.get_by_role("dialog")
    page.wait_for_load_state("networkidle")
    if not panel.is_visible():
        page.get_by_role("button", name=re.compile(r"^Chat with")).click()
    expect(panel).to_be_visible()
    page.screenshot(path=str(out / "widget.png"))
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/shoprelay.db"
        upgrade(database_url)
        server = listening_socket()
        with serve_sandbox(server, database_url) as live, sync_playwright() as playwright:
            seed_products(live.runtime)
            play(live.url)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 860})
            sandbox_shot(page, live.url, args.out)
            print(f"saved {args.out / 'sandbox.png'}")
            if widget_shot(browser.new_page(viewport={"width": 900, "height": 760}), live.url,
                           args.out):
                print(f"saved {args.out / 'widget.png'}")
            else:
                print("no /webchat/demo page in this build: widget.png not taken")
            browser.close()
        server.server_close()


if __name__ == "__main__":
    main()
