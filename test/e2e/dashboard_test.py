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
    row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-id='{order['id']}']")))
    assert "paid" in row.text and "dash-1" in row.text, row.text
    row.click()
    wait.until(lambda d: "OrderPaid" in d.find_element(By.ID, "history").text)
    history = driver.find_element(By.ID, "history").text
    assert "OrderPlaced" in history, history
    stats = driver.find_element(By.ID, "stats").text
    assert "events appended" in stats, stats

    if with_dlq:
        button = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#dlq button.replay")))
        letter_id = button.get_attribute("data-id")
        button.click()
        wait.until(lambda d: f"replayed {letter_id}" in d.find_element(By.ID, "dlq-note").text)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"tr[data-dlq='{letter_id}']"))
        print(f"dead letter {letter_id} replayed from the dashboard")
    time.sleep(0.3)
    driver.save_screenshot(screenshot)
    print(f"dashboard ok: order {order['id']} listed with its history; screenshot {screenshot}")
finally:
    driver.quit()
