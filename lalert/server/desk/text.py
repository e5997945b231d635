"""Fixed strings of the desk console, Japanese first, English second.

A plain dict rather than gettext: the console has two languages, a few dozen phrases and
one reader group (operators); alert text itself is shown as published.
"""

from __future__ import annotations

from lalert.vocab import KINDS

LANGS = ("ja", "en")

TEXT: dict[str, tuple[str, str]] = {
    # key: (ja, en)
    "app": ("lalert 防災デスク", "lalert disaster desk"),
    "nav": ("メニュー", "Menu"),
    "nav.overview": ("現況", "Overview"),
    "nav.history": ("受信履歴", "History"),
    "nav.rejected": ("受付拒否", "Rejected"),
    "nav.feeds": ("受信経路", "Feeds"),
    "nav.submit": ("手動投入", "Submit"),
    "nav.screens": ("サイネージ", "Signage"),
    "nav.deliveries": ("配信", "Deliveries"),
    "logout": ("ログアウト", "Log out"),
    "operator": ("担当", "Operator"),
    "lang.other": ("English", "日本語"),
    "login.title": ("ログイン", "Log in"),
    "login.name": ("担当者名", "Name"),
    "login.name_hint": ("トークンでログインするときは空欄", "Leave empty when logging in with a token"),
    "login.secret": ("パスワードまたはトークン", "Password or token"),
    "login.submit": ("ログイン", "Log in"),
    "login.failed": ("名前またはパスワード（トークン）が違います。", "Wrong name or password (token)."),
    "session.expired": ("ログインしていないか、ログインの期限が切れました。ログインし直してください。",
                        "You are not logged in, or the login has expired. Log in again."),
    "csrf.title": ("フォームの確認に失敗しました", "Form check failed"),
    "csrf.body": ("CSRF トークンがない、または一致しません。ページを開き直してからもう一度送信してください。",
                  "The CSRF token is missing or does not match. Reload the page and submit again."),
    "active": ("発表中の情報", "Active alerts"),
    "active.none": ("発表中の情報はありません。", "No active alerts."),
    "stale": ("長時間更新のない情報", "Not updated for a long time"),
    "stale.help": ("解除の電文が届いていない可能性があります。確認のうえ、必要なら取り下げてください（操作者名とともに記録されます）。",
                   "Its lifting may have been missed. Check it and withdraw it if it no longer holds "
                   "(recorded with your name)."),
    "stale.withdraw": ("取り下げ", "Withdraw"),
    "stale.since": ("最終更新", "Last updated"),
    "drills": ("訓練・試験", "Exercises and tests"),
    "drill": ("訓練", "EXERCISE"),
    "map": ("対象地域の地図", "Map of the areas"),
    "map.none": ("地図に描ける範囲がありません", "Nothing to draw on the map"),
    "level": ("警戒レベル", "Level"),
    "level.none": ("レベルなし", "no level"),
    "kind": ("種別", "Kind"),
    "areas": ("対象地域", "Areas"),
    "issued": ("発表", "Issued"),
    "until": ("有効期限", "Valid until"),
    "publisher": ("発表者", "Publisher"),
    "delivery": ("配信状況", "Delivery"),
    "output": ("出力", "Output"),
    "state": ("状態", "State"),
    "alarms": ("警報", "Alarms"),
    "alarms.none": ("異常はありません", "No alarms"),
    "updated": ("更新", "Updated"),
    "counts": ("受信件数", "Messages"),
    "history": ("受信履歴", "Message history"),
    "received": ("受信時刻", "Received"),
    "source": ("経路", "Source"),
    "sender": ("送信元", "Sender"),
    "format": ("形式", "Format"),
    "outcome": ("結果", "Outcome"),
    "reason": ("理由", "Reason"),
    "raw": ("受信した内容", "Raw text"),
    "raw.none": ("本文は保存されていません", "No bytes were kept"),
    "raw.cut": ("先頭部分のみ表示", "Only the beginning is shown"),
    "older": ("さらに古いもの", "Older"),
    "rejected": ("受付を拒否したメッセージ", "Rejected messages"),
    "rejected.none": ("拒否したメッセージはありません。", "No rejected messages."),
    "feeds": ("受信経路の状況", "Feed health"),
    "feeds.none": ("フィードの取得は設定されていません。", "No feeds are configured."),
    "feed": ("フィード", "Feed"),
    "last_success": ("最終取得", "Last success"),
    "last_change": ("最終更新", "Last change"),
    "last_error": ("直近のエラー", "Last error"),
    "silent": ("途絶", "SILENT"),
    "ok": ("正常", "OK"),
    "spool": ("スプールディレクトリ", "Spool directory"),
    "journal": ("ジャーナル", "Journal"),
    "submit.title": ("メッセージの手動投入", "Submit a message by hand"),
    "submit.help": ("XML を貼り付けるかファイルを選び、「内容を確認」を押してください。まだ配信されません。",
                    "Paste the XML or choose a file, then press “Preview”. Nothing is sent yet."),
    "submit.text": ("XML を貼り付け", "Paste XML"),
    "submit.file": ("またはファイルを選択", "or choose a file"),
    "submit.preview": ("内容を確認", "Preview"),
    "submit.empty": ("内容が空です。", "Nothing to submit."),
    "submit.too_large": ("大きすぎます", "Too large"),
    "preview.title": ("読み取り結果の確認", "How lalert reads it"),
    "preview.error": ("このメッセージは読み取れません。投入すると「受付拒否」として記録されます。",
                      "This message cannot be read. Submitting records it as rejected."),
    "preview.dup": ("同じ ID の情報を受信済みです（重複として記録されます）。",
                    "A message with this id was already received (it will be recorded as a duplicate)."),
    "preview.confirm": ("この内容で投入する", "Submit it"),
    "preview.cancel": ("やめる", "Cancel"),
    "preview.expired": ("確認の期限が切れました。もう一度投入してください。",
                        "The preview has expired. Submit the message again."),
    "preview.shelters": ("付近の避難所", "Nearby shelters"),
    "preview.unresolved": ("地図上の位置が分かりません", "not found in the gazetteer"),
    "inside": ("区域内", "inside the area"),
    "codes": ("地域コード", "Area codes"),
    "fits": ("災害種別に適合", "fits the hazard"),
    "fits.no": ("適合しない", "does not fit"),
    "message": ("メッセージ", "Message"),
    "message.result": ("投入しました", "Submitted"),
    "message.alerts": ("含まれる情報", "Alerts in it"),
    "screens": ("サイネージ画面", "Signage screens"),
    "screens.source.config": ("設定ファイルの画面（編集すると以後はデスクの一覧を使います）",
                              "Screens from the configuration (after an edit the desk's list is used)"),
    "screens.source.desk": ("デスクで編集した画面一覧", "Screen list edited at the desk"),
    "screens.none": ("画面はまだありません。", "No screens yet."),
    "screens.edit": ("編集", "Edit"),
    "screens.delete": ("削除", "Delete"),
    "screens.add": ("画面を追加・編集", "Add or edit a screen"),
    "screens.save": ("保存", "Save"),
    "screens.saved": ("保存しました", "Saved"),
    "screens.open": ("表示", "Open"),
    "screens.invalid": ("この画面の設定は使えません", "This screen's settings cannot be used"),
    "f.id": ("画面 ID（英小文字・数字・- _）", "Screen id (a-z, 0-9, - _)"),
    "f.name": ("設置場所の名前", "Place name"),
    "f.lat": ("緯度", "Latitude"),
    "f.lon": ("経度", "Longitude"),
    "f.areas": ("地域コード（カンマ区切り、任意）", "Area codes (comma-separated, optional)"),
    "f.languages": ("表示言語", "Languages"),
    "f.orientation": ("向き", "Orientation"),
    "f.landscape": ("横", "landscape"),
    "f.portrait": ("縦", "portrait"),
    "f.min_level": ("切替えるレベル（以上）", "Take over at level (or higher)"),
    "f.drills": ("訓練を表示する画面", "Shows exercises"),
    "f.wifi": ("Wi-Fi の SSID（カンマ区切り）", "Wi-Fi SSIDs (comma-separated)"),
    "japan": ("00000JAPAN（災害用統一 SSID）", "00000JAPAN (disaster Wi-Fi)"),
    "japan.on": ("開放を宣言中", "Declared open"),
    "japan.off": ("宣言していません", "Not declared"),
    "japan.open": ("開放を宣言する", "Declare open"),
    "japan.close": ("宣言を解除する", "End the declaration"),
    "japan.by": ("変更", "Changed by"),
    "yes": ("はい", "yes"),
    "no": ("いいえ", "no"),
    "id": ("ID", "ID"),
    "title": ("表題", "Title"),
    "headline": ("見出し", "Headline"),
    "status": ("運用種別", "Status"),
    "info_type": ("情報の種類", "Info type"),
    "error": ("エラー", "Error"),
    "login.throttled": ("ログインの失敗が続いたため、しばらく受け付けません。{s} 秒後にもう一度試してください。",
                        "Too many failed logins. Try again in {s} seconds."),
    "deliveries": ("プッシュ配信の状況", "Push deliveries"),
    "deliveries.help": ("Webhook・Web プッシュ・MQTT の配信ごとの状態です。失敗した配信は再送できます。",
                        "The state of every webhook, Web Push and MQTT delivery. Failed ones can be sent again."),
    "deliveries.none": ("該当する配信はありません。", "No deliveries match."),
    "deliveries.no_store": ("プッシュ配信はまだ一度も動いていません（webhook・webpush・mqtt 出力が無効）。",
                            "No push output has run yet (webhook, webpush and mqtt are off)."),
    "deliveries.counts": ("経路別の件数", "Counts per channel"),
    "deliveries.recent": ("最近の配信", "Recent deliveries"),
    "deliveries.shown": ("新しい順に最大 {n} 件", "Newest first, at most {n}"),
    "deliveries.filter": ("絞り込む", "Filter"),
    "deliveries.all": ("すべて", "all"),
    "deliveries.total": ("合計", "Total"),
    "delivery.one": ("配信", "Delivery"),
    "delivery.channel": ("経路", "Channel"),
    "delivery.alert": ("情報", "Alert"),
    "delivery.target": ("宛先", "Recipient"),
    "delivery.subscription": ("購読 ID", "Subscription"),
    "delivery.attempts": ("試行回数", "Attempts"),
    "delivery.last": ("直近の結果", "Last result"),
    "delivery.next": ("次の再試行", "Next retry"),
    "delivery.updated": ("更新", "Updated"),
    "delivery.log": ("試行の記録", "Attempt log"),
    "delivery.log.none": ("まだ試行していません。", "No attempt yet."),
    "delivery.n": ("回", "No."),
    "delivery.time": ("時刻", "Time"),
    "delivery.http": ("HTTP ステータス", "HTTP status"),
    "delivery.duration": ("所要時間", "Duration"),
    "delivery.retry": ("今すぐ再送", "Retry now"),
    "delivery.retried": ("再送を予約しました。", "Queued for another attempt."),
    "delivery.retried_later": ("再送を予約しました（出力が動いていないため、次の起動時に送ります）。",
                               "Queued for another attempt (the output is not running: it is sent at the next start)."),
    "delivery.not_dead": ("この配信は失敗状態ではないため、再送できません。",
                          "This delivery has not failed, so it cannot be retried."),
    "delivery.back": ("配信の一覧へ", "Back to deliveries"),
    "delivery.masked": ("トークン等は伏せています", "tokens are masked"),
    "delivery.api": ("同じ内容の API", "The same through the API"),
    "instruction": ("呼びかけ", "Advice"),
    "publisher.none": ("発表者不明", "publisher unknown"),
    "sent_by": ("送信", "sent by"),
    "hazards": ("災害種別", "Hazards"),
    "serial": ("版数", "serial"),
    "bytes": ("バイト", "bytes"),
    "feed.long": ("長期フィード", "long feed"),
    "feed.counts": ("取得 / 新着 / 失敗", "fetched / new / failures"),
    "outputs": ("出力", "Outputs"),
    "backlog": ("未処理", "backlog"),
    "other_region": ("対象地域外の情報", "Alerts outside the region"),
    "alarm.silent": ("フィード「{name}」からの受信が途絶えています", "feed {name} is silent"),
}

# Keys of the spool and journal facts on the feeds page.
FACTS: dict[str, tuple[str, str]] = {
    "dir": ("ディレクトリ", "directory"),
    "waiting": ("待機中のファイル", "files waiting"),
    "accepted": ("受付", "accepted"),
    "duplicate": ("重複", "duplicate"),
    "rejected": ("拒否", "rejected"),
    "last_error": ("直近のエラー", "last error"),
    "messages": ("受信件数", "messages"),
    "applied": ("処理済み", "applied"),
    "pending": ("処理待ち", "pending"),
}

# Push channels by outbox name.
CHANNELS: dict[str, tuple[str, str]] = {
    "webhook": ("Webhook", "Webhook"),
    "webpush": ("Web プッシュ", "Web Push"),
    "mqtt": ("MQTT", "MQTT"),
}

# Alert kinds: Japanese names are lalert.vocab.KINDS'; here only the English, and a
# Japanese word for the two entries whose vocab text is not a display name.
KIND_EN: dict[str, str] = {
    "weather_warning": "Weather warning / advisory",
    "landslide": "Landslide alert",
    "river_flood": "River flood forecast",
    "record_rain": "Record short-term heavy rain",
    "tornado": "Tornado advisory",
    "weather_info": "Weather information",
    "eew": "Earthquake early warning",
    "earthquake": "Earthquake information",
    "earthquake_activity": "Earthquake activity",
    "tsunami": "Tsunami warning / information",
    "volcano": "Volcanic warning / information",
    "ashfall": "Ashfall forecast",
    "nankai": "Nankai Trough information",
    "evacuation": "Evacuation order / information",
    "shelter": "Shelter information",
    "headquarters": "Disaster headquarters",
    "damage": "Damage report",
    "general": "Notice",
    "urgent_mail": "Emergency mail",
    "river_level": "River level / rainfall",
    "event": "Event information",
    "system": "System",
    "other": "Other",
}
KIND_JA_OVERRIDE: dict[str, str] = {"other": "その他", "weather_info": "気象情報"}

# lalert.model.INFO_TYPES, every one (CAP Update is "update": 更新, not left in English)
INFO_TYPES: dict[str, tuple[str, str]] = {
    "issue": ("発表", "issued"),
    "update": ("更新", "update"),
    "correction": ("訂正", "correction"),
    "cancel": ("取消", "cancelled"),
    "delay": ("遅延", "delay"),
    "ack": ("受領確認", "acknowledgement"),
    "error": ("誤り通知", "error notice"),
}

# Where a message came in (journal ``source``).
SOURCES: dict[str, tuple[str, str]] = {
    "http": ("HTTP 受信", "HTTP"),
    "spool": ("スプール", "spool"),
    "feed": ("フィード取得", "feed"),
    "desk": ("デスクから投入", "desk"),
    "demo": ("デモ", "demo"),
}

# lalert.model.FORMATS
FORMATS: dict[str, tuple[str, str]] = {
    "jmaxml": ("気象庁防災情報XML", "JMA XML"),
    "commons": ("Lアラート（公共情報コモンズ）", "L-Alert (Commons)"),
    "cap": ("CAP", "CAP"),
}

# Outputs by registry name.
OUTPUT_NAMES: dict[str, tuple[str, str]] = {
    "signage": ("サイネージ", "signage"),
    "map": ("防災マップ", "map"),
    "tiles": ("地図タイル", "tiles"),
    "feeds": ("CAP フィード", "CAP feeds"),
    "sse": ("イベント配信（SSE）", "SSE stream"),
    "webhook": ("Webhook", "Webhook"),
    "webpush": ("Web プッシュ", "Web Push"),
    "mqtt": ("MQTT", "MQTT"),
}

# CAP 1.2 severity (every format maps to it: lalert.vocab.severity_for_level).
SEVERITIES: dict[str, tuple[str, str]] = {
    "Extreme": ("甚大", "extreme"),
    "Severe": ("重大", "severe"),
    "Moderate": ("中程度", "moderate"),
    "Minor": ("軽微", "minor"),
    "Unknown": ("程度不明", "severity unknown"),
}

STATUSES: dict[str, tuple[str, str]] = {
    "actual": ("実運用", "actual"),
    "exercise": ("訓練", "exercise"),
    "test": ("試験", "test"),
    "system": ("システム", "system"),
    "draft": ("下書き", "draft"),
}

DELIVERY: dict[str, tuple[str, str]] = {
    "sent": ("送信済", "sent"),
    "handled": ("処理済", "handled"),
    "queued": ("待機中", "queued"),
    "pending": ("送信中", "sending"),
    "retrying": ("再試行中", "retrying"),
    "dead": ("失敗", "failed"),
    "skipped": ("対象外", "skipped"),
    "no_drills": ("訓練は対象外", "drills not sent"),
    "stopped": ("停止中", "not running"),
}

OUTCOMES: dict[str, tuple[str, str]] = {
    "accepted": ("受付", "accepted"),
    "active": ("発表中", "active"),
    "pending": ("処理待ち", "pending"),
    "superseded": ("更新済", "superseded"),
    "cancelled": ("取消", "cancelled"),
    "lifted": ("解除", "lifted"),
    "expired": ("期限切れ", "expired"),
    "rejected": ("拒否", "rejected"),
    "duplicate": ("重複", "duplicate"),
    "ignored": ("無視", "ignored"),
}

SHELTER_STATES: dict[str, tuple[str, str]] = {
    "open": ("開設", "open"),
    "permanent": ("常設", "always open"),
    "unopened": ("未開設", "not opened"),
    "closed": ("閉鎖", "closed"),
    "unknown": ("状態不明", "state unknown"),
}


def pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def kind_word(kind: str | None, lang: str) -> str:
    """An alert kind for people: vocab's Japanese name, or the English one; the code for
    a kind neither table knows (so nothing is ever hidden)."""
    k = kind or "other"
    if lang == "en":
        return KIND_EN.get(k, k)
    return KIND_JA_OVERRIDE.get(k) or KINDS.get(k) or k


def translator(lang: str):
    """``t("key")`` for templates."""

    def t(key: str) -> str:
        return pick(TEXT, key, lang)

    return t
