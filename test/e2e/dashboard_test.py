#!/usr/bin/python3
"""The dashboard in headless Chromium (Debian's chromium + chromium-driver, Selenium).

usage: dashboard_test.py SCREENSHOT_PATH [--dlq] BASE_URL

Checks that the page loads, lists an order created through the API, shows its event history
when clicked, and, with --dlq (a bus that keeps dead letters), that a dead letter's Replay
button works. Saves a screenshot.
"""
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

screenshot, base = sys.argv[1], sys.argv[-1].rstrip("/")
with_dlq = "--dlq" in sys.argv


def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


order = post("/orders", {"customer_id": "dash-1", "lines": [{"sku": "D", "quantity": 3, "unit_price": 2.5}]})
post(f"/orders/{order['id']}/pay", {"payment_reference": "p-1"})

options = Options()
for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--window-size=1400,900"]:
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    wait = WebDriverWait(driver, 20)
    driver.get(base + "/")
    def order_row(d):
        try:
            row = d.find_element(By.CSS_SELECTOR, f"tr[data-id='{order['id']}']")
            return row.text if "paid" in row.text else None
        except (StaleElementReferenceException, NoSuchElementException):
            return None

    assert "dash-1" in wait.until(order_row)

    def click_row(d):
        try:
            d.find_element(By.CSS_SELECTOR, f"tr[data-id='{order['id']}']").click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    wait.until(click_row)
    wait.until(lambda d: "OrderPaid" in d.find_element(By.ID, "history").text)
    history = driver.find_element(By.ID, "history").text
    assert "OrderPlaced" in history, history
    stats = driver.find_element(By.ID, "stats").text
    assert "events appended" in stats, stats

    if with_dlq:
        # The list re-renders every 2 s, so elements go stale: look them up afresh on each try.
        def first_letter(d):
            try:
                return d.find_element(By.CSS_SELECTOR, "#dlq button.replay").get_attribute("data-id")
            except (StaleElementReferenceException, NoSuchElementException):
                return None

        letter_id = wait.until(first_letter)

        def click_replay(d):
            try:
                d.find_element(By.CSS_SELECTOR, f"#dlq button.replay[data-id='{letter_id}']").click()
                return True
            except (StaleElementReferenceException, NoSuchElementException):
                return False

        wait.until(click_replay)
        wait.until(lambda d: f"replayed {letter_id}" in d.find_element(By.ID, "dlq-note").text)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"tr[data-dlq='{letter_id}']"))
        print(f"dead letter {letter_id} replayed from the dashboard")
    time.sleep(0.3)
    driver.save_screenshot(screenshot)
    print(f"dashboard ok: order {order['id']} listed with its history; screenshot {screenshot}")
finally:
    driver.quit()
