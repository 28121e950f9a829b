"""/staff/ in Chromium at phone and desktop widths, with screenshots (screenshots/, git-ignored)."""

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[3] / "screenshots"


@pytest.mark.parametrize("width", [360, 1366])
def test_the_staff_dashboard_renders_charts_at_phone_and_desktop_width(stats_world, live_server, page, staff_user, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/accounts/login/?next=/staff/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/staff/")
    assert page.locator("h1").inner_text() == "Staff dashboard"
    assert page.locator("svg.chart").count() == 6
    # Every chart fits its card: nothing wider than the viewport, no sideways page scroll.
    for box in [page.locator("svg.chart").nth(i).bounding_box() for i in range(5)]:
        assert box["width"] > 200 and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert "49.53" in page.locator(".kpis").inner_text()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"staff-dashboard-{width}.png"), full_page=True)
    page.screenshot(path=str(SHOTS / f"staff-dashboard-{width}-first-screen.png"))
    for i, card in enumerate(["Daily activity", "Commissions per day"]):
        page.locator(".card", has_text=card).first.screenshot(path=str(SHOTS / f"staff-chart-{width}-{i}.png"))
