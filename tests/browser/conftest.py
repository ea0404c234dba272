"""Playwright fixtures: Debian's chromium driving the real app served on a free local port.

Skipped (with the reason) when /usr/bin/chromium is missing. A failing test leaves a full-page screenshot in
test-artifacts/browser/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from stella.config import PROJECT_ROOT
from stella.extensions import db
from stella.services.users import create_user
from tests.browser.liveserver import CHROMIUM, CHROMIUM_ARGS, LiveServer, live_server

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
BROWSER_PASSWORD = "browser-test-password-42"

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    # Keep each phase's report on the item so the page fixture knows, at teardown, whether the test failed.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


_user_counter = iter(range(1, 10_000))


@pytest.fixture()
def make_account(live: LiveServer) -> Any:
    """`make_account("marketing")` creates a user in the live app's database and returns (email, password)."""

    def create(role: str = "marketing", display_name: str = "Browser Tester") -> tuple[str, str]:
        email = f"browser{next(_user_counter)}@example.com"
        with live.app.app_context():
            create_user(email=email, role=role, display_name=display_name, password=BROWSER_PASSWORD)
            db.session.commit()
        return email, BROWSER_PASSWORD

    return create


@pytest.fixture()
def sign_in(page: Any, live: LiveServer) -> Any:
    """Sign in through the real login form, as a user would."""

    def submit(email: str, password: str) -> None:
        page.goto(f"{live.url}/login")
        page.fill('input[name="email"]', email)
        page.fill('input[name="password"]', password)
        page.click('form button[type="submit"]')

    return submit
