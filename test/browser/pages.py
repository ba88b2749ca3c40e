"""The reference web app's pages in a real browser: Debian's Chromium,
headless, driven through chromedriver by Selenium (python3-selenium).

The whole loop of a code: the citizen's screen rendered from the database,
a screenshot of it, the QR in the screenshot read by zbarimg, the text
verified at the checkpoint page (and the screenshot itself uploaded
there, decoded by the app with ZBar). Then what must be refused: an
expired code, a forged one, a red visitor at a venue's door; and what a
login must never see: another region's person.

    pages.py URL PASSWORD VENUE_CODE EXPIRED_CODE FORGED_CODE OUTDIR

Prints one line a check, "PASS name" or "FAIL name<TAB>why", for
test/shell/browser.sh to report as TAP, and last "CHECKS n", how many ran
(the shell test knows how many must); screenshots of every page go to
OUTDIR.
"""
import os
import re
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

URL, PASSWORD, VENUE_CODE, EXPIRED_CODE, FORGED_CODE, OUT = sys.argv[1:7]
os.makedirs(OUT, exist_ok=True)


CHECKS = [0]


def check(name, ok, why=""):
    CHECKS[0] += 1
    print(("PASS " + name) if ok else ("FAIL %s\t%s" % (name, str(why).replace("\n", " ")[:300])), flush=True)
    return ok


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=520,1100", "--lang=zh-CN", "--force-device-scale-factor=1"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def text(d, css):
    found = d.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def submit(d, element_id):
    """Clicks and waits for the next page to load (a click returns before
    it does): the old page's window carries a mark the new one has not."""
    d.execute_script("window.hcOldPage = true")
    d.find_element(By.ID, element_id).click()
    WebDriverWait(d, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda drv: drv.execute_script("return window.hcOldPage === undefined && document.readyState === 'complete'"))


def login(d, user, password=PASSWORD):
    d.delete_all_cookies()
    d.get(URL + "/login")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password)
    submit(d, "submit")


def shot(d, name):
    path = os.path.join(OUT, name + ".png")
    d.save_screenshot(path)
    return path


def zbar(path):
    out = subprocess.run(["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", path],
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""


def at_checkpoint(d, code=None, photo=None):
    d.get(URL + "/checkpoint")
    if code is not None:
        d.find_element(By.ID, "code").send_keys(code)
    if photo is not None:
        d.find_element(By.ID, "photo").send_keys(os.path.abspath(photo))
    submit(d, "submit")
    verdict = d.find_elements(By.ID, "verdict")
    return (verdict[0].get_attribute("data-valid") if verdict else None), text(d, "#reason"), text(d, "#problem")


def at_door(d, identifier):
    d.get(URL + "/door")
    d.find_element(By.ID, "identifier").send_keys(identifier)
    submit(d, "submit")
    result = d.find_elements(By.ID, "result")
    return (result[0].get_attribute("data-admit") if result else None), text(d, "#decision"), text(d, "#reason")


def main():
    d = browser()
    try:
        # ---- logins are the app's own
        login(d, "zhang", "not the password")
        check("a wrong password is refused at the login page", "/login" in d.current_url and text(d, "#error") != "",
              d.current_url)

        # ---- the citizen's code screen, from the database to the screen
        login(d, "zhang")
        check("the citizen lands on the code screen", d.current_url.endswith("/code"), d.current_url)
        screen = d.find_element(By.ID, "screen")
        check("the screen shows the citizen green, with the masked name",
              screen.get_attribute("data-colour") == "green" and text(d, "#colour") == "绿码" and text(d, "#name") == "张*明",
              (screen.get_attribute("data-colour"), text(d, "#colour"), text(d, "#name")))
        check("the screen shows the latest test and the doses",
              "阴性" in text(d, "#test") and "2" in text(d, "#doses"), (text(d, "#test"), text(d, "#doses")))
        refresh = d.find_element(By.CSS_SELECTOR, "meta[http-equiv=refresh]").get_attribute("content")
        check("the screen refreshes itself before its code expires (5 minutes)", 0 < int(refresh) < 300, refresh)
        citizen_png = shot(d, "citizen")
        scanned = zbar(citizen_png)
        check("zbarimg reads a health code from the screenshot of the screen", scanned.startswith("HCN:"), scanned[:60])

        # ---- the same screen in English
        submit(d, "nav-lang")
        check("the screen switches to English", text(d, "#colour") == "Green code", text(d, "#colour"))
        shot(d, "citizen_en")
        submit(d, "nav-lang")

        # ---- the itinerary card
        d.get(URL + "/itinerary")
        cities = text(d, "#cities")
        check("the itinerary card lists the cities stayed in", "上海" in cities and "杭州" in cities, cities)
        shot(d, "itinerary")

        # ---- the checkpoint verifies what the scanner read off the screen
        login(d, "check")
        valid, reason, problem = at_checkpoint(d, code=scanned)
        check("the checkpoint page verifies the code read from the screenshot", valid == "true" and reason == "ok",
              (valid, reason, problem))
        check("the checkpoint shows the holder green now (online)", text(d, "#current") == "绿码", text(d, "#current"))
        shot(d, "checkpoint")
        valid, reason, problem = at_checkpoint(d, photo=citizen_png)
        check("the checkpoint decodes an uploaded photo of the screen (ZBar) and verifies it",
              valid == "true" and reason == "ok", (valid, reason, problem))
        valid, reason, problem = at_checkpoint(d, code=EXPIRED_CODE)
        check("an expired code is refused", valid == "false" and reason == "expired", (valid, reason, problem))
        shot(d, "checkpoint_expired")
        valid, reason, problem = at_checkpoint(d, code=FORGED_CODE)
        check("a forged code (a real one, its signature altered) is refused as such",
              valid == "false" and reason == "bad_signature", (valid, reason, problem))
        shot(d, "checkpoint_forged")
        # (a scan garbled on the way: one character of the text changed)
        garbled = scanned[:-3] + ("A" if scanned[-3] != "A" else "B") + scanned[-2:]
        valid, reason, problem = at_checkpoint(d, code=garbled)
        check("a garbled scan is refused", (valid == "false" and reason != "ok") or (valid is None and problem != ""),
              (valid, reason, problem))
        valid, reason, problem = at_checkpoint(d, code="not a code at all")
        check("a text that is no code is said to be none", valid is None and problem != "", (valid, reason, problem))

        # ---- a venue's door keeper
        login(d, "gate")
        poster = shot(d, "door")
        check("the door keeper's page shows the venue's code, as printed", zbar(poster) == VENUE_CODE, zbar(poster)[:60])
        admit, decision, reason = at_door(d, "330106199506202349")
        check("a red visitor's scan at the door says deny", admit == "false" and reason == "not_green" and decision == "禁止进入",
              (admit, decision, reason))
        shot(d, "door_deny")
        admit, decision, reason = at_door(d, "330106199203154415")
        check("a green visitor's scan at the door says allow", admit == "true" and reason == "ok", (admit, decision, reason))
        shot(d, "door_allow")

        # ---- a guardian's view of a dependant without a phone
        login(d, "zhao")
        submit(d, "nav-dependant-0")
        # (赵大 and 赵老 both mask to 赵*: the ID number's last digits tell them apart)
        who = (text(d, "h1"), text(d, "#name"), text(d, ".who .id"))
        check("a guardian sees the dependant's code screen, not his own",
              who[0] == "代办健康码" and who[1] == "赵*" and who[2].endswith("76")
              and bool(d.find_elements(By.CSS_SELECTOR, "#qr svg")), who)
        shot(d, "dependant")

        # ---- a page never shows another region's person
        login(d, "wang")
        body = d.find_element(By.TAG_NAME, "body").text
        check("a Beijing login gets no screen from the Zhejiang app, and no name",
              not d.find_elements(By.ID, "screen") and "王" not in body and text(d, "#message") != "", body[:200])
        shot(d, "other_region")

        # ---- the analyst's page
        login(d, "analyst")
        d.set_window_size(1000, 1800)
        rows = d.find_elements(By.CSS_SELECTOR, "#totals tbody tr")
        regions = [r.get_attribute("data-region") for r in rows]
        check("the analyst's table has the province and its cities", "330000" in regions and "330100" in regions, regions)
        check("the analyst's table holds no other region", all(r.startswith("33") for r in regions), regions)
        # (the charts are images the page loads: wait for them)
        for _ in range(100):
            loaded = d.execute_script(
                "return [...document.querySelectorAll('img.chart')].map(i => i.complete && i.naturalWidth > 0)")
            if loaded and all(loaded):
                break
            time.sleep(0.1)
        check("the analyst's two trend charts are drawn", loaded == [True, True], loaded)
        # (a chart with its points: gnuplot draws each as a use of a point symbol)
        points = d.execute_async_script(
            "const done = arguments[0];"
            "fetch(document.getElementById('chart-tests').src).then(r => r.text())"
            ".then(t => done((t.match(/xlink:href='#gpPt/g) || []).length)).catch(e => done(-1));")
        check("the tests chart has the days' points", points >= 5, points)
        shot(d, "analyst")
        d.get(URL + "/code")
        check("an analyst login is not shown a citizen's page", text(d, "#message") != "" and not d.find_elements(By.ID, "screen"),
              d.current_url)
    except Exception as e:   # (any: a check not run must not pass unseen)
        check("the browser ran the pages", False, repr(e))
    finally:
        d.quit()
        print("CHECKS %d" % CHECKS[0], flush=True)


main()
