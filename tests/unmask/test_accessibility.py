"""axe-core (from npm, installed into var/node by `make test`) run in headless Chromium on the
site's main pages, served by the live server: no serious or critical violation anywhere."""

import json
from collections.abc import Iterator

import pytest

from tests.live import LiveServer, chromium_context, wait_for
from tests.support import REPO_ROOT, real_video, require

AXE = REPO_ROOT / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 3).map((n) => [n.target.join(" "), n.failureSummary])}));
}"""


@pytest.fixture(scope="module")
def checked(live_site: LiveServer) -> dict:
    """A finished check owned by staff member sam, so the review page can show it too."""
    response = live_site.upload(real_video("vr-3.mp4"), "sam")
    assert response.status_code in {200, 201}, response.text
    return wait_for(live_site, response.json()["id"], name="sam")


@pytest.fixture
def browser_context() -> Iterator:
    require(AXE.is_file(), f"{AXE} not found (make test installs axe-core into var/node)")
    with chromium_context() as context:
        yield context


def violations(context, url: str) -> list[dict]:
    page = context.new_page()
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, RULES)
    page.close()
    return found


def test_no_serious_accessibility_violation_on_the_main_pages(
    live_site: LiveServer, checked: dict, browser_context
):
    assert checked["status"] == "done", checked
    pages = {"home (signed out)": f"{live_site.url}/", "log in": f"{live_site.url}/accounts/login/"}
    found = {name: violations(browser_context, url) for name, url in pages.items()}
    browser_context.add_cookies(
        [{"name": "sessionid", "value": live_site.accounts["sam"]["sessionid"],
          "url": live_site.url}]
    )  # fmt: skip
    signed_in = {
        "home": "/",
        "upload": "/analyses/new/",
        "result": f"/analyses/{checked['id']}/",
        "history": "/analyses/",
        "review queue": "/review/",
        "review": f"/review/{checked['id']}/",
        "model card": "/model/",
    }
    for name, path in signed_in.items():
        found[name] = violations(browser_context, live_site.url + path)
    failing = {name: v for name, v in found.items() if v}
    assert not failing, json.dumps(failing, indent=1)
