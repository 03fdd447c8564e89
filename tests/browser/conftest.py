"""Browser fixtures: two real peered nodes (`justnet demo --nodes SEAJUST,EJN --json`, the
command a new user runs) and Debian's chromium driven by Playwright.

Every test gets a fresh browser context; `sign_in(context, node, role)` signs a demo account
in through the sign-in page (an administrator enrols the second factor the first time and
uses a TOTP code after that) and caches the signed-in cookies per node and role, so each
account goes through the form once per run. Screenshots go to `ARTIFACTS`
(tests/browser/artifacts, or $BROWSER_ARTIFACTS) as the tests' artefacts.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests

from tests.e2e.conftest import start_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", Path(__file__).parent / "artifacts"))
READY = 180.0
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.slow


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (requirements/dev.txt)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it as root)"
    return None


@dataclass
class Node:
    network: str
    url: str
    console: str
    tokens: dict[str, str]
    accounts: dict[str, dict[str, str]]
    totp_secret: dict[str, str] = field(default_factory=dict)  # role -> secret, once enrolled
    storage: dict[str, Any] = field(default_factory=dict)  # role -> signed-in storage state

    def api(self, method: str, path: str, role: str | None = None, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if role:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return requests.request(method, self.url + path, headers=headers, timeout=15, **kw)


@dataclass
class Federation:
    nodes: list[Node]
    process: subprocess.Popen[str]

    @property
    def sea(self) -> Node:
        return self.nodes[0]

    @property
    def ejn(self) -> Node:
        return self.nodes[1]


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(missing)
    demo = start_demo(tmp_path_factory.mktemp("console"))
    try:
        nodes = [
            Node(
                n["network"],
                n["gateway_url"],
                n["console_url"],
                {r: n[f"{r}_token"] for r in ("admin", "editor", "member")},
                n["accounts"],
            )
            for n in demo.ready["nodes"]
        ]
        fed = Federation(nodes, demo.process)
        _wait_replicated(fed)
        yield fed
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            demo.stop()


def _wait_replicated(fed: Federation) -> None:
    """Until each node holds the other's public directory records (bounded)."""
    deadline = time.monotonic() + 60
    for node, state in ((fed.sea, "FR"), (fed.ejn, "TH")):
        while True:
            items = node.api("GET", f"/api/v1/lookup?jurisdiction={state}", "member").json()
            if items.get("items"):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"{node.network} never received {state} records")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def browser(federation: Federation) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    # bypass_csp lets axe-core inject its script; the CSP header itself is tested apart.
    ctx = browser.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def totp_now(secret: str) -> str:
    """A code for the next unused 30-second step (the node accepts each step once)."""
    totp = pyotp.TOTP(secret)
    return totp.now()


def sign_in(context: Any, node: Node, role: str) -> Any:
    """A page in `context` signed in as the demo `role` account of `node`."""
    page = context.new_page()
    if role in node.storage:
        context.add_cookies(node.storage[role])
        return page
    account = node.accounts[role]
    page.goto(f"{node.url}/console/sign-in")
    page.get_by_label("Email").fill(account["email"])
    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Sign in").click()
    if role == "admin":
        page.wait_for_url("**/console/sign-in/enrol**")
        secret = page.locator("#totp-secret").inner_text().strip()
        node.totp_secret[role] = secret
        page.get_by_label("Code").fill(totp_now(secret))
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("link", name="Continue").click()
    page.wait_for_url("**/console/lookup**")
    node.storage[role] = context.cookies()
    return page


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot, kept as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    return [v for v in result.response["violations"] if v.get("impact") in ("serious", "critical")]


def assert_accessible(page: Any) -> None:
    bad = axe_violations(page)
    assert not bad, "axe: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )


def assert_fits_phone(page: Any) -> None:
    """No sideways scrolling at 375 px."""
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at 375px"
    page.set_viewport_size(DESKTOP)
