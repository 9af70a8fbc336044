"""GraphiQL in headless Chromium against the real app: offline, signed in, queries over HTTP, a subscription
over WebSocket, both carrying the access token."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, Request, Response, Route, WebSocket, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ops.graphiql import ASSETS_DIR, ASSETS_PATH, graphiql_html
from tests.servers import AppServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
CALLABLE = "{ leads(first: 20) { edges { node { id phone timezone consent { call } doNotCall } } } }"
CREATE = """mutation($input: CreateLeadInput!) { createLead(input: $input) { __typename
  ... on LeadPayload { lead { id } } ... on UserError { message } } }"""
HANG_UP = "mutation($id: ID!) { hangUpCall(callId: $id) { __typename } }"
STOP_BUTTON = ".graphiql-execute-button[aria-label^='Stop']"
EXECUTE_BUTTON = ".graphiql-execute-button[aria-label^='Execute']"
EXPIRE_SESSION = """() => {
  const session = JSON.parse(sessionStorage.getItem('switchboard.session'));
  session.accessTokenExpiresAt = new Date(Date.now() - 1000).toISOString();
  sessionStorage.setItem('switchboard.session', JSON.stringify(session));
}"""


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (scripts/test installs it when apt-get is there); CHROMIUM names another binary.

    Session-scoped and asked for first, so a machine without one skips before the stores start."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no Chromium to drive: `apt-get install chromium` (scripts/test does) or set CHROMIUM")
    return path


@asynccontextmanager
async def browser(executable: str, profile: Path) -> AsyncIterator[tuple[BrowserContext, list[str]]]:
    """A fresh Chromium profile that lets only local requests through; yields it and the URLs it refused."""
    outside: list[str] = []

    async def local_only(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            outside.append(url)
            await route.abort()

    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            await context.route("**/*", local_only)
            yield context, outside
        finally:
            await context.close()


def watch(page: Page, problems: list[str], ws_frames: list[dict[str, Any]], bearers: list[str | None]) -> None:
    """Collects page errors, failed local loads, WebSocket frames sent and each POST's Authorization header."""

    def on_ws(ws: WebSocket) -> None:
        if urlsplit(ws.url).hostname not in LOCAL_HOSTS:
            problems.append(f"WebSocket to {ws.url}")
        ws.on("framesent", lambda payload: ws_frames.append(json.loads(payload)))

    def on_response(response: Response) -> None:
        if urlsplit(response.url).path.startswith(ASSETS_PATH) and response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    def on_request(request: Request) -> None:
        if request.method == "POST":
            bearers.append(request.headers.get("authorization"))

    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("websocket", on_ws)
    page.on("response", on_response)
    page.on("request", on_request)


async def open_graphiql(page: Page, url: str) -> None:
    await page.goto(url)
    await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=30_000)


async def sign_in(page: Page, user: dict[str, str]) -> str:
    """Picks the demo user, signs in with the bar and returns the access token the page keeps."""
    option = page.locator("#sb-demo option", has_text=user["email"])
    await page.select_option("#sb-demo", value=await option.get_attribute("value"))
    assert await page.input_value("#sb-email") == user["email"]
    await page.click("#sb-sign-in-button")
    await page.wait_for_selector("#sb-signed-in:not([hidden])", timeout=15_000)
    assert user["email"] in await page.inner_text("#sb-who")
    return await session_token(page)


async def session_token(page: Page) -> str:
    session = json.loads(await page.evaluate("sessionStorage.getItem('switchboard.session')"))
    return str(session["accessToken"])


async def editor(page: Page, selector: str) -> str:
    return str(await page.evaluate(f"document.querySelector({selector!r}).CodeMirror.getValue()"))


async def run_tab(page: Page, title: str, variables: dict[str, Any] | None = None) -> None:
    await page.locator(".graphiql-tab-button", has_text=re.compile(f"^{title}$")).click()
    await page.wait_for_selector(f".graphiql-tab-active:has-text('{title}')")
    await page.wait_for_function(  # the editors hold the tab's operation; GraphiQL reads its name 100 ms later
        f"document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue().includes(' {title}')"
    )
    if variables is not None:
        await page.evaluate(
            "v => document.querySelector('.graphiql-editor-tool[aria-label=Variables] .graphiql-editor .CodeMirror')"
            ".CodeMirror.setValue(v)", json.dumps(variables)
        )
    await page.wait_for_timeout(400)
    await page.click(".graphiql-execute-button")


async def result(page: Page, contains: str, *, timeout: float = 30_000) -> dict[str, Any]:
    """The response pane's JSON once it contains `contains`."""
    try:
        await page.wait_for_function(
            "text => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue().includes(text)",
            arg=contains, timeout=timeout,
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"no {contains!r} in the response pane: {await editor(page, '.result-window .CodeMirror')}")
    return json.loads(await editor(page, ".result-window .CodeMirror"))  # type: ignore[no-any-return]


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def in_calling_hours(timezone: str) -> bool:
    try:
        return 8 <= datetime.now(ZoneInfo(timezone)).hour < 21
    except (KeyError, ValueError):
        return False


def daytime_zone() -> str:
    """A fixed-offset zone where it is early afternoon now."""
    offset = (13 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def graphql(app: AppServer, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=60) as http:
        response = await http.post(app.graphql, json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


async def callable_leads(app: AppServer, token: str) -> list[str]:
    """Leads the account may call now, the ones whose number ends in 9 (kept on the line) first; when none
    may be called at this hour, a new lead in a zone where it is daytime."""
    nodes = [e["node"] for e in (await graphql(app, token, CALLABLE))["leads"]["edges"]]
    ok = [n for n in nodes if n["consent"]["call"] and not n["doNotCall"] and in_calling_hours(n["timezone"])]
    ok.sort(key=lambda n: not n["phone"].endswith("9"))
    if ok:
        return [n["id"] for n in ok]
    phone = f"+1415557{uuid.uuid4().int % 1000:03d}9"
    lead = {"firstName": "Browser", "lastName": "Test", "phone": phone, "consent": {"call": True},
            "timezone": daytime_zone()}
    made = (await graphql(app, token, CREATE, input=lead))["createLead"]
    assert made["__typename"] == "LeadPayload", made
    return [made["lead"]["id"]]


def demo_owner(store_env: dict[str, str], account: str) -> dict[str, str]:
    path = Path(store_env["SWITCHBOARD_DATA_DIR"]) / "demo-users.json"
    assert path.exists(), f"the app wrote no demo users to {path}"
    users: list[dict[str, str]] = json.loads(path.read_text())
    return next(u for u in users if u["account"] == account and u["role"].lower() == "owner")


def test_page_config_cannot_break_out_of_its_script() -> None:
    hostile = "</script><script>alert(1)</script><!--"
    html = graphiql_html([{"email": "a@b.example", "password": hostile, "role": "owner", "account": "acme"}])
    assert hostile not in html and "<!--" not in html.split('id="sb-config"')[1]
    config = html.split('<script id="sb-config" type="application/json">')[1].split("</script>")[0]
    assert json.loads(config)["demoUsers"][0]["password"] == hostile
    assert "password" not in json.dumps(json.loads(graphiql_html(None).split('type="application/json">')[1]
                                                   .split("</script>")[0]))


def test_page_loads_only_packaged_assets() -> None:
    html = graphiql_html()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(url.startswith((f"{ASSETS_PATH}/", "data:")) for url in urls), urls
    missing = [u for u in urls if u.startswith(ASSETS_PATH) and not (ASSETS_DIR / u.removeprefix(f"{ASSETS_PATH}/"))
               .is_file()]
    assert missing == []


async def test_graphiql_signs_in_queries_and_follows_live_calls(
    chromium: str, app_server: AppServer, store_env: dict[str, str], tmp_path: Path
) -> None:
    owner = demo_owner(store_env, "acme")
    problems: list[str] = []
    frames: list[dict[str, Any]] = []
    bearers: list[str | None] = []
    call_id = hang_up_as = None
    async with browser(chromium, tmp_path / "profile") as (context, outside):
        page = context.pages[0] if context.pages else await context.new_page()
        watch(page, problems, frames, bearers)
        await open_graphiql(page, app_server.graphql)
        assert await page.is_visible("#sb-sign-in")
        # signed out, a query gets the API's 401, which the page explains
        await run_tab(page, "CrossStore")
        assert (await result(page, "Sign in above"))["errors"][0]["extensions"]["status"] == 401
        token = await sign_in(page, owner)
        try:
            # a query over HTTP: GraphiQL's fetcher sends the token
            await run_tab(page, "CrossStore")
            routes = (await result(page, '"routes"'))["data"]["routes"]["edges"]
            assert routes and routes[0]["node"]["stops"], routes
            assert f"Bearer {token}" in bearers

            # the subscription over WebSocket: the token rides in connection_init
            await run_tab(page, "LiveCalls")
            await page.wait_for_selector(STOP_BUTTON, timeout=10_000)
            await until(lambda: any(f.get("type") == "subscribe" for f in frames))
            inits = [f for f in frames if f.get("type") == "connection_init"]
            assert inits and inits[0]["payload"] == {"authorization": f"Bearer {token}"}, frames
            await asyncio.sleep(0.5)  # the server registers the subscription

            # a second browser tab signs in; its token is made to look expired and the page reloaded: the
            # session survives the reload and is refreshed with refreshSession
            starter = await context.new_page()
            watch(starter, problems, frames, bearers)
            await open_graphiql(starter, app_server.graphql)
            first = await sign_in(starter, owner)
            await starter.evaluate(EXPIRE_SESSION)
            await starter.reload()
            await starter.wait_for_function(
                "old => !(sessionStorage.getItem('switchboard.session') || old).includes(old)", arg=first
            )
            hang_up_as = await session_token(starter)
            assert owner["email"] in await starter.inner_text("#sb-who")

            # ... and starts a call with the "Start a call" example
            for lead_id in await callable_leads(app_server, token):
                await starter.evaluate("document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('')")
                await run_tab(starter, "Start", {"leadId": lead_id})
                started = (await result(starter, '"startCall"'))["data"]["startCall"]
                if started["__typename"] == "CallPayload":
                    call_id = started["call"]["id"]
                    break
            assert call_id, f"every lead was refused, the last: {started}"
            assert f"Bearer {hang_up_as}" in bearers

            # the first tab's subscription shows the call's event
            event = (await result(page, call_id))["data"]["liveCalls"]
            assert event["call"]["id"] == call_id and event["type"], event
            await page.bring_to_front()
            shot = tmp_path / "graphiql.png"
            await page.screenshot(path=shot)
            (ROOT / ".test-output").mkdir(exist_ok=True)
            shutil.copyfile(shot, ROOT / ".test-output" / "graphiql.png")
            print(f"screenshot: {shot} (and .test-output/graphiql.png)")

            # signing out ends the subscription and forgets the session
            await page.click("#sb-sign-out")
            await page.wait_for_selector("#sb-sign-in:not([hidden])")
            await page.wait_for_selector(EXECUTE_BUTTON)
            assert await page.evaluate("sessionStorage.getItem('switchboard.session')") is None
        finally:
            if call_id and hang_up_as:
                await graphql(app_server, hang_up_as, HANG_UP, id=call_id)
    assert outside == [], "requests left the machine"
    assert problems == []
