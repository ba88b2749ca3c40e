"""healthcode's reference backend: a thin web app on the extension.

Every decision stays in the database. A request authenticates (the app's
own logins, users.json), makes one SQL call through PgBouncer as the
database login of its kind, and renders the answer:

  /code            the citizen's code screen          code_screen(identifier)
  /itinerary       the itinerary card                 itinerary(identifier)
  /dependant/<n>   a guardian's view of a dependant   code_screen_for(guardian, dependant)
  /door            a venue's door keeper              venue_qr_svg(code), scan_venue(identifier, code)
  /checkpoint      a checkpoint's verdict on a code   checkpoint_verify(code, checkpoint)
  /analyst         people by colour, by region        status_totals
  /analyst/colours.svg  the colours day by day        trends (drawn by gnuplot)

Run under a WSGI server (examples/webapp/stack.sh runs uWSGI); configuration from the
environment: HC_WEB_DSN_APP, HC_WEB_DSN_VERIFIER, HC_WEB_DSN_ANALYST
(libpq connection strings), HC_WEB_USERS (the logins file), HC_WEB_SECRET
(the session cookie's key).
"""
import gc
import hmac
import json
import os
import re
import secrets
import subprocess
import tempfile
import time
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from markupsafe import Markup
from werkzeug.security import check_password_hash

import db
from i18n import WORDS, t



class CheckedOnceSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, each cookie's signature checked once
    a process: a citizen's screen comes back with the same cookie at every
    refresh, and checking it anew (the serializer made, the key derived,
    the HMAC, the JSON) was a fifth of the app's time a page. What a cookie
    held is kept for the exact bytes of the request's Cookie header, when
    it holds that cookie alone (parsing the header was a third of what
    remained), while younger than the session's lifetime, and every request
    gets a copy of its own. A session a page did not change costs no cookie
    work when the page is sent."""

    def __init__(self):
        self._serializer = None
        self._checked = {}

    def get_signing_serializer(self, app):
        if self._serializer is None:
            self._serializer = super().get_signing_serializer(app)
        return self._serializer

    def open_session(self, app, request):
        header = request.environ.get("HTTP_COOKIE")
        if not header:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        checked = self._checked.get(header)
        if checked is None or time.time() - checked[1] > max_age:
            cookie = request.cookies.get(self.get_cookie_name(app))
            if not cookie:
                return self.session_class()
            try:
                data, signed_at = self.get_signing_serializer(app).loads(cookie, max_age=int(max_age),
                                                                         return_timestamp=True)
            except BadSignature:   # (expired ones too)
                return self.session_class()
            checked = (data, signed_at.timestamp())
            # (logins' cookies only: a visitor's first page makes one each,
            # and would flush the logins' out; and headers of the session's
            # cookie alone: a header with others, of other apps of the host
            # or made up, would each take an entry)
            if data.get("user") and header == f"{self.get_cookie_name(app)}={cookie}":
                if len(self._checked) >= 4096:
                    self._checked.clear()
                self._checked[header] = checked
        return self.session_class(dict(checked[0]))

    def save_session(self, app, session, response):
        # (Flask's own works out the cookie's every attribute first)
        if not self.should_set_cookie(app, session):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


app = Flask(__name__)
app.secret_key = os.environ.get("HC_WEB_SECRET") or os.urandom(32)
app.session_interface = CheckedOnceSessions()
app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                  MAX_CONTENT_LENGTH=8 * 1024 * 1024)

with open(os.environ["HC_WEB_USERS"], encoding="utf-8") as f:
    USERS = json.load(f)

# (times as the people of the app's region read them)
CST = ZoneInfo("Asia/Shanghai")
app.jinja_env.filters["cst"] = lambda t, fmt="%Y-%m-%d %H:%M:%S": t.astimezone(CST).strftime(fmt) if t else ""

HOME = {"citizen": "code", "doorkeeper": "door", "checkpoint": "checkpoint", "analyst": "analyst"}


def lang():
    return session.get("lang", "zh")


def csrf_token():
    """The session's token, which every form posts back: a page of another
    site (another port of 127.0.0.1 is the same site to the cookie) cannot
    read it, so cannot post a form as the user."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_hex(16)
    return session["csrf"]


@app.before_request
def check_csrf():
    if request.method == "POST" and not hmac.compare_digest(request.form.get("csrf", ""), session.get("csrf", "-")):
        return render_template("message.html", message=t("bad_input", lang())), 400
    return None


@app.context_processor
def words():
    # (the session read once a page, not once a word)
    language, user = lang(), session.get("user")
    return {"w": WORDS[language], "lang": language, "user": user, "account": USERS.get(user or "", {}), "nav": NAV,
            "csrf_token": csrf_token}


# (where a frame's slots are, while it is cut)
_HEAD_SLOT, _BODY_SLOT = "\x00head\x00", "\x00body\x00"
_frames = {}


def framed(part, head, **values):
    """A page made of its part (a template of its own) in base.html's frame.
    The frame (the head, the title, the login's links) is the same for a
    login in a language at every page: rendered once a process for each,
    then kept. (Rendered anew, it was half the code screen's rendering;
    the code screen is the app's most-served page.) The part is given the
    words (w), the language (lang) and the values, not the rest of the
    context processors' names: what it does not get renders empty."""
    language, user = lang(), session.get("user")
    frame = _frames.get((language, user))
    if frame is None:
        html = render_template("frame.html", head=Markup(_HEAD_SLOT), body=Markup(_BODY_SLOT))
        before, rest = html.split(_HEAD_SLOT)
        frame = (before, *rest.split(_BODY_SLOT))
        if len(_frames) >= 4096:
            _frames.clear()
        _frames[(language, user)] = frame
    body = app.jinja_env.get_template(part).render(values, w=WORDS[language], lang=language)
    return "".join((frame[0], head, frame[1], body, frame[2]))


def login_as(*kinds):
    """The page is for logins of these kinds; the account is passed on."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            account = USERS.get(session.get("user", ""))
            if account is None:
                return redirect(url_for("login", next=request.path))
            if account["kind"] not in kinds:
                return render_template("message.html", message=t("forbidden", lang())), 403
            return view(account, *args, **kwargs)
        return inner
    return wrap


@app.errorhandler(db.NotFound)
def not_found(_):
    # (the database answers the same for another region's person as for
    # nobody: so does the page)
    return render_template("message.html", message=t("not_found", lang())), 404


@app.route("/")
def index():
    account = USERS.get(session.get("user", ""))
    return redirect(url_for(HOME[account["kind"]]) if account else url_for("login"))


@app.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("username", "")
        account = USERS.get(name)
        if account and check_password_hash(account["password"], request.form.get("password", "")):
            session.clear()
            session["user"] = name
            session["lang"] = "en" if request.form.get("lang") == "en" else "zh"
            return redirect(safe_next(request.args.get("next", "")) or url_for(HOME[account["kind"]]))
        error = t("bad_login", lang())
    return render_template("login.html", error=error)


def safe_next(path):
    """Where a login may send the user on: one of the app's own pages, never
    another site (/\\host, //host and the like are not paths of ours)."""
    return path if path in NAV_PATHS or re.fullmatch(r"/dependant/[0-9]{1,3}", path) else None


@app.route("/logout")
def logout():
    session.clear()
    return redirect(url_for("login"))


@app.route("/lang/<code>")
def set_lang(code):
    session["lang"] = "en" if code == "en" else "zh"
    back = request.referrer or "/"
    return redirect(back if back.startswith(request.host_url) else "/")


# ---- citizens ------------------------------------------------------------------

# (what the screen shows, and when its code expires)
SCREEN = """SELECT s.colour::text AS colour, s.display_name, s.masked_identifier, s.reasons,
                   s.latest_test_kind, s.latest_test_result, s.latest_test_hours, s.doses, s.qr_svg,
                   healthcode.expires_at(s.code) AS expires_at,
                   extract(epoch FROM healthcode.expires_at(s.code) - statement_timestamp())::integer AS seconds_left
              FROM {call} s"""
CODE_SCREEN = SCREEN.format(call="healthcode.code_screen(%s)")
DEPENDANT_SCREEN = SCREEN.format(call="healthcode.code_screen_for(%s, %s)")


def render_screen(screen, heading):
    # (refreshed half a minute before the code expires, never sooner than
    # in ten seconds: a fresh code is signed at every refresh)
    refresh = max(10, screen["seconds_left"] - 30)
    return framed("screen.html", Markup('<meta http-equiv="refresh" content="%d">' % refresh), s=screen, heading=heading)


@app.route("/code")
@login_as("citizen")
def code(account):
    screen = db.one("app", CODE_SCREEN, (account["identifier"],))
    return render_screen(screen, t("my_code", lang()))


@app.route("/itinerary")
@login_as("citizen")
def itinerary(account):
    cities = db.rows("app", "SELECT city, city_zh, city_en, starred, risk_level FROM healthcode.itinerary(%s)",
                     (account["identifier"],))
    return render_template("itinerary.html", cities=cities)


@app.route("/dependant/<int:n>")
@login_as("citizen")
def dependant(account, n):
    dependants = account.get("dependants", [])
    if not 0 <= n < len(dependants):
        abort(404)
    screen = db.one("app", DEPENDANT_SCREEN, (account["identifier"], dependants[n]))
    return render_screen(screen, t("dependant_code", lang()))


# ---- a venue's door keeper ----------------------------------------------------

@app.route("/door", methods=["GET", "POST"])
@login_as("doorkeeper")
def door(account):
    if request.method == "GET":
        poster = db.one("app", "SELECT healthcode.venue_qr_svg(%s, 'M', 6) AS svg", (account["venue_code"],))
        return render_template("door.html", poster=poster["svg"], result=None)
    try:
        result = db.one("app", """SELECT admit, reason, colour::text AS colour, display_name, venue_name, rule, recorded
                                    FROM healthcode.scan_venue(%s, %s)""",
                        (request.form.get("identifier", "").strip(), account["venue_code"]))
    except db.BadInput + (ValueError,) as e:   # (ValueError: a NUL in the text, refused by psycopg2)
        return render_template("message.html", message=t("bad_input", lang()), detail=e.diag.message_primary if isinstance(e, db.BadInput) else str(e)), 400
    return render_template("door.html", poster=None, result=result)


# ---- a checkpoint -------------------------------------------------------------------

# (the images a photo may be: zbarimg reads through ImageMagick, which would
# otherwise pick its decoder by the content, SVG and MVG among them)
IMAGE_KINDS = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"))


def decode_photo(upload):
    """The text of the QR code in an uploaded photo (PNG or JPEG) by
    zbarimg, ZBar's decoder; None when there is none."""
    head = upload.stream.read(8)
    upload.stream.seek(0)
    kind = next((k for magic, k in IMAGE_KINDS if head.startswith(magic)), None)
    if kind is None:
        return None
    with tempfile.NamedTemporaryFile(suffix="." + kind) as f:
        upload.save(f.name)
        try:
            out = subprocess.run(["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", f"{kind}:{f.name}"],
                                 capture_output=True, text=True, timeout=20,
                                 env={"MAGICK_MEMORY_LIMIT": "256MiB", "MAGICK_AREA_LIMIT": "64MP",
                                      "MAGICK_TIME_LIMIT": "15", "PATH": os.environ.get("PATH", "/usr/bin")})
        except subprocess.TimeoutExpired:
            return None
    text = out.stdout.strip()
    return text.splitlines()[0] if out.returncode == 0 and text else None


@app.route("/checkpoint", methods=["GET", "POST"])
@login_as("checkpoint")
def checkpoint(account):
    if request.method == "GET":
        return render_template("checkpoint.html", verdict=None, scanned=None)
    scanned = request.form.get("code", "").strip()
    photo = request.files.get("photo")
    if photo and photo.filename:
        scanned = decode_photo(photo)
        if scanned is None:
            return render_template("checkpoint.html", verdict=None, scanned=None, problem=t("no_qr", lang())), 422
    try:
        verdict = db.one("verifier", """SELECT valid, reason, colour::text AS colour, region,
                                               healthcode.division_label(region, %s) AS region_name, expires_at,
                                               online_check, current_colour::text AS current_colour
                                          FROM healthcode.checkpoint_verify(%s::healthcode.healthcode, %s)""",
                         (lang(), scanned, account["checkpoint"]))
    except db.BadInput + (ValueError,):   # (ValueError: a NUL in the text, refused by psycopg2)
        return render_template("checkpoint.html", verdict=None, scanned=scanned, problem=t("not_a_code", lang())), 422
    return render_template("checkpoint.html", verdict=verdict, scanned=scanned)


# ---- analysts -------------------------------------------------------------------------

@app.route("/analyst")
@login_as("analyst")
def analyst(account):
    totals = db.rows("analyst", """SELECT level, region, healthcode.division_label(region, %s) AS name,
                                          colour::text AS colour, people
                                     FROM healthcode.status_totals
                                    WHERE level <> 'nation'
                                    ORDER BY region, level""", (lang(),))
    table = {}
    for r in totals:
        row = table.setdefault(r["region"], {"level": r["level"], "name": r["name"]})
        row[r["colour"]] = r["people"]
    return render_template("analyst.html", table=table, region=account["region"])


# (a month back to today, China Standard Time, as the charts' axis)
SERIES_DAYS = "day >= (now() AT TIME ZONE 'Asia/Shanghai')::date - 30"


@app.route("/analyst/colours.svg")
@login_as("analyst")
def colours_svg(account):
    series = db.rows("analyst", f"""SELECT day, sum(people) FILTER (WHERE dim1 = 'green') AS green,
                                           sum(people) FILTER (WHERE dim1 = 'yellow') AS yellow,
                                           sum(people) FILTER (WHERE dim1 = 'red') AS red
                                      FROM healthcode.trends
                                     WHERE measure = 'status' AND region = %s AND {SERIES_DAYS}
                                     GROUP BY day ORDER BY day""", (account["region"],))
    return Response(draw_lines(series, [("green", t("green", lang()), "#1a9641"),
                                        ("yellow", t("yellow", lang()), "#e6ab02"),
                                        ("red", t("red", lang()), "#d7191c")], t("people", lang())),
                    mimetype="image/svg+xml")


@app.route("/analyst/tests.svg")
@login_as("analyst")
def tests_svg(account):
    series = db.rows("analyst", f"""SELECT day, sum(events) FILTER (WHERE dim1 = '') AS tests,
                                           sum(events) FILTER (WHERE dim1 = 'positive') AS positive
                                      FROM healthcode.trends
                                     WHERE measure = 'test' AND region = %s AND {SERIES_DAYS}
                                     GROUP BY day ORDER BY day""", (account["region"],))
    return Response(draw_lines(series, [("tests", t("tests", lang()), "#0b5394"),
                                        ("positive", t("positive_tests", lang()), "#d7191c")], t("tests", lang())),
                    mimetype="image/svg+xml")


def draw_lines(series, columns, ylabel):
    """Day-by-day series as an SVG line chart over the last month, drawn
    by gnuplot (the charts' tool of tools/report.sh). columns: (key,
    label, colour) of each line; a day the views leave out (suppressed, or
    not rolled up) is a gap."""
    data = "\n".join(" ".join([str(r["day"])] + [str(r[k]) if r[k] is not None else "NaN" for k, _, _ in columns])
                     for r in series) or "NaN"
    plots = ", ".join(f"$d using 1:{n + 2} with linespoints lw 2 pt 7 ps 0.6 lc rgb '{colour}' title '{label}'"
                      for n, (_, label, colour) in enumerate(columns))
    script = f"""
set terminal svg size 720,300 dynamic font 'WenQuanYi Zen Hei,Sans,11'
set xdata time
set timefmt '%Y-%m-%d'
set format x '%m-%d'
set xrange [time(0) + 8 * 3600 - 30 * 86400 : time(0) + 8 * 3600]
set key outside right
set grid ytics
set ylabel '{ylabel}'
set yrange [0:*]
$d << EOD
{data}
EOD
plot {plots}
"""
    out = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=30, check=True)
    return out.stdout


# The pages' links, built once (url_for at every render cost a tenth of a
# code screen's time in the app)
with app.test_request_context():
    NAV = {name: url_for(name) for name in ("code", "itinerary", "door", "checkpoint", "analyst", "logout",
                                            "colours_svg", "tests_svg")}
    NAV["css"] = url_for("static", filename="app.css")
    NAV["lang"] = {code: url_for("set_lang", code=code) for code in ("zh", "en")}
    # (a dependant's page: this and its index)
    NAV["dependant"] = url_for("dependant", n=0)[:-1]
NAV_PATHS = {v for v in NAV.values() if isinstance(v, str) and v.startswith("/")}

# (what start-up made lives as long as the process: frozen, the collector no
# longer walks it at each collection, nor writes its marks into the pages
# uWSGI's workers, forked after the app is loaded, share. Measured with
# bench/webapp.sh: 2-3 % more code screens a second)
gc.freeze()
