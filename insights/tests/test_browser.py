"""A person's view: headless Chromium logs into the admin, opens /dashboard/, and watches a sale arrive.

Debian's chromium and chromium-driver (installed by .ci/run) are driven by Selenium; the server is
a real daphne process on this session's test database and Redis. The screenshot it takes is the
one in the README (docs/dashboard.png).
"""

import json
import shutil
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus
from urllib.request import Request, urlopen

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from catalog.tests.factories import CategoryFactory, ProductFactory
from ecommerce_admin import store_calendar
from sales.services import sale_record

from .ws_support import BASE_DIR, TEST_REDIS_URL, server_env, start_servers

pytestmark = [pytest.mark.browser, pytest.mark.mysql, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOT = BASE_DIR / "docs" / "dashboard.png"
WAIT_SECONDS = 20
PASSWORD = "pw-123456"


@pytest.fixture
def server(transactional_db, tmp_path):
    env = server_env(REDIS_URL=TEST_REDIS_URL, CHANNEL_PREFIX=f"test-browser-{uuid.uuid4().hex[:12]}")
    for [started] in start_servers(1, env, tmp_path):
        yield started


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(f"{path} is missing: apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1440,1100",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    yield driver
    driver.quit()


@pytest.fixture
def store(transactional_db):
    """A small store with sales earlier today and on the same day last week, and two products running low."""
    category = CategoryFactory(name="Coffee")
    beans = ProductFactory(
        name="Espresso beans 1 kg",
        sku="BEAN-1KG",
        category=category,
        price=Decimal("24.90"),
        initial_stock=400,
        low_stock_threshold=20,
    )
    grinder = ProductFactory(
        name="Burr grinder",
        sku="GRIND-01",
        category=category,
        price=Decimal("129.00"),
        initial_stock=40,
        low_stock_threshold=5,
    )
    filters = ProductFactory(
        name="Paper filters x100",
        sku="FILT-100",
        category=category,
        price=Decimal("4.50"),
        initial_stock=30,
        low_stock_threshold=25,
    )
    ProductFactory(
        name="Milk jug",
        sku="JUG-350",
        category=category,
        price=Decimal("15.00"),
        initial_stock=3,
        low_stock_threshold=4,
    )
    now = timezone.now()
    today_start = store_calendar.day_start(store_calendar.store_today(now))
    hours_so_far = int((now - today_start).total_seconds() // 3600)
    for offset in (timedelta(days=7), timedelta(0)):
        for hour in range(0, hours_so_far + 1, 2):
            sold_at = today_start - offset + timedelta(hours=hour, minutes=7)
            if sold_at > now - timedelta(minutes=1):
                continue
            lines = [{"product": beans, "quantity": 1 + hour % 3}]
            if hour % 4 == 0:
                lines.append({"product": filters, "quantity": 1})
            if offset and hour % 6 == 0:
                lines.append({"product": grinder, "quantity": 1})
            sale_record(lines=lines, sold_at=sold_at, channel="pos" if hour % 3 else "web")
    return {"beans": beans, "grinder": grinder}


def post_sale(server, token: str, product_id: int, quantity: int) -> dict:
    request = Request(
        f"{server.http_url}/api/v1/sales/",
        data=json.dumps({"lines": [{"product": product_id, "quantity": quantity}], "channel": "web"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urlopen(request, timeout=30) as response:
        assert response.status == HTTPStatus.CREATED
        return json.loads(response.read())


def test_dashboard_updates_live_in_a_real_browser(server, browser, store, make_user):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)
    manager = make_user(groups=("Store manager",), is_staff=True, username="manager")
    token = str(AccessToken.for_user(manager))

    browser.get(f"{server.http_url}/admin/login/?next=/dashboard/")
    browser.find_element(By.NAME, "username").send_keys("manager")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(expected_conditions.url_to_be(f"{server.http_url}/dashboard/"))

    state = (By.ID, "connection-state")
    wait.until(expected_conditions.text_to_be_present_in_element(state, "Live"))
    orders = browser.find_element(By.CSS_SELECTOR, '[data-field="today.orders"]')
    wait.until(lambda _: orders.text not in ("", "–"))
    orders_before = int(orders.text.replace(",", ""))
    revenue_before = browser.find_element(By.CSS_SELECTOR, '[data-field="today.net_revenue"]').text
    assert browser.find_elements(By.CSS_SELECTOR, "#top-products tr td.ld-num")  # today's best sellers
    assert "Milk jug" in browser.find_element(By.ID, "low-stock").text
    browser.execute_script("window.__sameDocument = 'not reloaded';")

    sale = post_sale(server, token, store["grinder"].pk, 2)

    wait.until(lambda _: int(orders.text.replace(",", "")) == orders_before + 1)
    revenue_after = browser.find_element(By.CSS_SELECTOR, '[data-field="today.net_revenue"]').text
    assert revenue_after != revenue_before
    feed = browser.find_element(By.ID, "live-feed")
    wait.until(lambda _: sale["number"] in feed.text)
    assert browser.find_element(By.CSS_SELECTOR, f'#live-feed li[data-sale="{sale["id"]}"]')
    assert browser.execute_script("return window.__sameDocument") == "not reloaded"
    assert browser.find_element(*state).text == "Live"

    # A sale that takes the milk jug to zero shows up as an out-of-stock alert in the feed.
    post_sale(server, token, ProductFactory._meta.model.objects.get(sku="JUG-350").pk, 3)
    wait.until(lambda _: "Out of stock" in feed.text)

    last_week_drawn = (
        "const c = window.Chart && Chart.getChart('hourly-chart'); return !!c && c.data.datasets[1].data.some(v => v);"
    )
    wait.until(lambda _: browser.execute_script(last_week_drawn))
    time.sleep(2.5)  # let the highlight of the changed tiles fade before the picture
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    # The admin has no favicon; anything else logged as an error in the page's console fails the test.
    errors = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]
    assert errors == []
