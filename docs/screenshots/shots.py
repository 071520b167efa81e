"""Screenshots for the README: python docs/screenshots/shots.py USER,LANG,PATH,OUT.png ...

Needs Debian's chromium and chromedriver, selenium in a throwaway virtualenv (not a project
dependency), and the demo running on port 5077 (scripts/run.sh with PORT=5077).
"""
import sys
import time

from selenium import webdriver
from selenium.webdriver.common.by import By


def browser(lang):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
              f"--lang={lang}"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang})
    from selenium.webdriver.chrome.service import Service
    return webdriver.Chrome(options=o, service=Service("/usr/bin/chromedriver"))
def login(d, user):
    d.get("http://127.0.0.1:5077/login")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys("demo-pass-2026")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    time.sleep(0.5)
for user, lang, path, out in [tuple(a.split(",")) for a in sys.argv[1:]]:
    d = browser(lang)
    login(d, user)
    d.get("http://127.0.0.1:5077" + path)
    time.sleep(0.5)
    d.save_screenshot(out)
    d.quit()
