import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_landing_page_renders_in_chromium(live_server, page):
    response = page.goto(live_server.url + "/")

    assert response.status == 200
    assert "P2PHub" in page.title()
