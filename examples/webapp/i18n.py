"""The pages' words in Chinese and English. The database names places and
writes reasons in both languages itself (division_label, screen_reasons);
these are the app's own labels."""

TEXT = {
    "title": ("健康码", "Health code"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong user name or password"),
    "green": ("绿码", "Green code"),
    "yellow": ("黄码", "Yellow code"),
    "red": ("红码", "Red code"),
    "my_code": ("我的健康码", "My health code"),
    "itinerary": ("行程卡", "Itinerary card"),
    "dependants": ("代他人", "For my dependants"),
    "dependant_code": ("代办健康码", "Dependant's health code"),
    "refresh_note": ("二维码 %s 前有效，页面会自动刷新", "The QR code is valid until %s; the page refreshes itself"),
    "reasons": ("原因", "Why"),
    "latest_test": ("最近核酸", "Latest test"),
    "no_test": ("无检测记录", "No test on record"),
    "hours_ago": ("%s 小时前", "%s hours ago"),
    "doses": ("疫苗接种", "Vaccination"),
    "doses_n": ("已接种 %s 剂", "%s doses"),
    "no_doses": ("无接种记录", "No doses on record"),
    "since": ("自", "since"),
    "negative": ("阴性", "negative"),
    "positive": ("阳性", "positive"),
    "vaccinated": ("已接种", "vaccinated"),
    "city": ("城市", "City"),
    "starred": ("* 表示停留期间该城市存在中高风险地区", "* a medium- or high-risk area was in force there during the stay"),
    "no_cities": ("最近 14 天无行程", "No stays in the last 14 days"),
    "door": ("场所码", "Venue code"),
    "door_note": ("访客扫描此码登记进入；无手机的访客由门岗代为登记", "Visitors scan this code; the door keeper registers visitors without a phone"),
    "visitor_id": ("访客身份证号", "Visitor's ID number"),
    "register_visit": ("登记", "Register"),
    "admit": ("允许进入", "ALLOW ENTRY"),
    "deny": ("禁止进入", "DENY ENTRY"),
    "rule": ("入场要求", "Entry rule"),
    "checkpoint": ("查验点", "Checkpoint"),
    "scanned_text": ("扫描所得文本", "Scanned text"),
    "or_photo": ("或上传照片", "or upload a photo"),
    "check": ("查验", "Check"),
    "verdict_ok": ("有效", "VALID"),
    "verdict_bad": ("无效", "NOT VALID"),
    "reason": ("原因", "Reason"),
    "issued_by": ("签发地", "Issued by"),
    "expires": ("有效期至", "Expires"),
    "current": ("当前状态", "Status now"),
    "no_qr": ("照片中未找到二维码", "No QR code found in the photo"),
    "not_a_code": ("不是健康码", "Not a health code"),
    "analyst": ("统计分析", "Analysis"),
    "colours_by_day": ("每日各色码人数", "People by colour, day by day"),
    "totals": ("各地区当前各色码人数（小于最小单元的数已隐去）", "People by colour now, by region (cells below the minimum size left out)"),
    "region": ("地区", "Region"),
    "level": ("层级", "Level"),
    "province": ("省", "province"),
    "nation": ("全国", "nation"),
    "district": ("区县", "district"),
    "not_found": ("在本地区未找到此人", "No such person in this app's region"),
    "forbidden": ("无权访问此页面", "This page is not for your login"),
    "bad_input": ("输入有误", "Invalid input"),
    "day": ("日期", "Day"),
    "tests": ("核酸检测", "Tests"),
    "positive_tests": ("阳性", "Positive"),
    "tests_by_day": ("每日核酸检测与阳性", "Tests and positives, day by day"),
    "people": ("人数", "People"),
}


# (the words of each language as one dict, which the templates read as w.key)
WORDS = {"zh": {k: v[0] for k, v in TEXT.items()}, "en": {k: v[1] for k, v in TEXT.items()}}
# (w.key finds a dict's own attribute first: no word may be named like one)
assert not set(TEXT) & set(dir(dict)), set(TEXT) & set(dir(dict))


def t(key, lang):
    zh, en = TEXT[key]
    return zh if lang == "zh" else en
