"""Fixed strings of the desk console: stable keys for the templates, Japanese msgids of the
one catalogue (``lalert.i18n``) as values.

The templates say ``t("nav.overview")``; the key names a place on a page, the msgid names the
term, so the desk and the public outputs share one rendering of every term (an alert's kind,
level, shelter state …). Alert text itself is shown as published.
"""

from __future__ import annotations

from lalert.i18n import N_, gettext
from lalert.outputs import phrases

LANGS = ("ja", "en")

# key: msgid
TEXT: dict[str, str] = {
    "app": N_("lalert 防災デスク"),
    "skip": N_("メインへ移動"),
    "nav": N_("メニュー"),
    "nav.overview": N_("現況"),
    "nav.history": N_("受信履歴"),
    "nav.rejected": N_("受付拒否"),
    "nav.feeds": N_("受信経路"),
    "nav.submit": N_("手動投入"),
    "nav.screens": N_("サイネージ"),
    "nav.deliveries": N_("配信"),
    "logout": N_("ログアウト"),
    "operator": N_("担当"),
    "login.title": N_("ログイン"),
    "login.name": N_("担当者名"),
    "login.name_hint": N_("トークンでログインするときは空欄"),
    "login.secret": N_("パスワードまたはトークン"),
    "login.submit": N_("ログイン"),
    "login.failed": N_("名前またはパスワード（トークン）が違います。"),
    "session.expired": N_("ログインしていないか、ログインの期限が切れました。ログインし直してください。"),
    "csrf.title": N_("フォームの確認に失敗しました"),
    "csrf.body": N_("CSRF トークンがない、または一致しません。ページを開き直してからもう一度送信してください。"),
    "active": N_("発表中の情報"),
    "active.none": N_("発表中の情報はありません。"),
    "stale": N_("長時間更新のない情報"),
    "stale.help": N_("解除の電文が届いていない可能性があります。確認のうえ、必要なら取り下げてください（操作者名とともに記録されます）。"),
    "stale.withdraw": N_("取り下げ"),
    "stale.since": N_("最終更新"),
    "unplaced": N_("地図に範囲を示せない情報"),
    "unplaced.help": N_("次の地域の範囲（ポリゴン）がありません。住民の地図と「現在地の情報」、地点で登録した通知、地点に置いたサイネージには届きません。その地域の境界データを取り込んでください（lalert data import）。"),
    "drills": N_("訓練・試験"),
    "drill": N_("訓練"),
    "map": N_("対象地域の地図"),
    "map.none": N_("地図に描ける範囲がありません"),
    "level": N_("警戒レベル"),
    "level.none": N_("レベルなし"),
    "kind": N_("種別"),
    "areas": N_("対象地域"),
    "issued": N_("発表"),
    "until": N_("有効期限"),
    "publisher": N_("発表者"),
    "delivery": N_("配信状況"),
    "output": N_("出力"),
    "state": N_("状態"),
    "alarms": N_("アラーム"),
    "alarms.none": N_("異常はありません"),
    "updated": N_("更新"),
    "counts": N_("受信件数"),
    "history": N_("受信履歴"),
    "received": N_("受信時刻"),
    "source": N_("経路"),
    "sender": N_("送信元"),
    "format": N_("形式"),
    "outcome": N_("結果"),
    "reason": N_("理由"),
    "raw": N_("受信した内容"),
    "raw.none": N_("本文は保存されていません"),
    "raw.cut": N_("先頭部分のみ表示"),
    "older": N_("さらに古いもの"),
    "rejected": N_("受付を拒否したメッセージ"),
    "rejected.none": N_("拒否したメッセージはありません。"),
    "feeds": N_("受信経路の状況"),
    "feeds.none": N_("フィードの取得は設定されていません。"),
    "feed": N_("フィード"),
    "last_success": N_("最終取得"),
    "last_change": N_("最終更新"),
    "last_error": N_("直近のエラー"),
    "silent": N_("途絶"),
    "ok": N_("正常"),
    "spool": N_("スプールディレクトリ"),
    "journal": N_("ジャーナル"),
    "submit.title": N_("メッセージの手動投入"),
    "submit.help": N_("XML を貼り付けるかファイルを選び、「内容を確認」を押してください。まだ配信されません。"),
    "submit.text": N_("XML を貼り付け"),
    "submit.file": N_("またはファイルを選択"),
    "submit.preview": N_("内容を確認"),
    "submit.empty": N_("内容が空です。"),
    "submit.too_large": N_("大きすぎます"),
    "preview.title": N_("読み取り結果の確認"),
    "preview.error": N_("このメッセージは読み取れません。投入すると「受付拒否」として記録されます。"),
    "preview.dup": N_("同じ ID の情報を受信済みです（重複として記録されます）。"),
    "preview.confirm": N_("この内容で投入する"),
    "preview.cancel": N_("やめる"),
    "preview.expired": N_("確認の期限が切れました。もう一度投入してください。"),
    "preview.shelters": N_("付近の避難所"),
    "preview.unresolved": N_("地図上の位置が分かりません"),
    "inside": N_("区域内"),
    "codes": N_("地域コード"),
    "fits": N_("災害種別に適合"),
    "fits.no": N_("適合しない"),
    "message": N_("メッセージ"),
    "message.result": N_("投入しました"),
    "message.alerts": N_("含まれる情報"),
    "screens": N_("サイネージ画面"),
    "screens.source.config": N_("設定ファイルの画面（編集すると以後はデスクの一覧を使います）"),
    "screens.source.desk": N_("デスクで編集した画面一覧"),
    "screens.none": N_("画面はまだありません。"),
    "screens.edit": N_("編集"),
    "screens.delete": N_("削除"),
    "screens.add": N_("画面を追加・編集"),
    "screens.save": N_("保存"),
    "screens.saved": N_("保存しました"),
    "screens.open": N_("表示"),
    "screens.invalid": N_("この画面の設定は使えません"),
    "f.id": N_("画面 ID（英小文字・数字・- _）"),
    "f.name": N_("設置場所の名前"),
    "f.lat": N_("緯度"),
    "f.lon": N_("経度"),
    "f.areas": N_("地域コード（カンマ区切り、任意）"),
    "f.languages": N_("表示言語"),
    "f.orientation": N_("向き"),
    "f.landscape": N_("横"),
    "f.portrait": N_("縦"),
    "f.min_level": N_("切替えるレベル（以上）"),
    "f.drills": N_("訓練を表示する画面"),
    "f.wifi": N_("Wi-Fi の SSID（カンマ区切り）"),
    "japan": N_("00000JAPAN（災害用統一 SSID）"),
    "japan.on": N_("開放を宣言中"),
    "japan.off": N_("宣言していません"),
    "japan.open": N_("開放を宣言する"),
    "japan.close": N_("宣言を解除する"),
    "japan.by": N_("変更"),
    "yes": N_("はい"),
    "no": N_("いいえ"),
    "id": N_("ID"),
    "title": N_("表題"),
    "headline": N_("見出し"),
    "status": N_("運用種別"),
    "info_type": N_("情報の種類"),
    "error": N_("エラー"),
    "login.throttled": N_("ログインの失敗が続いたため、しばらく受け付けません。{s} 秒後にもう一度試してください。"),
    "deliveries": N_("プッシュ配信の状況"),
    "deliveries.help": N_("Webhook・Web プッシュ・MQTT の配信ごとの状態です。失敗した配信は再送できます。"),
    "deliveries.none": N_("該当する配信はありません。"),
    "deliveries.no_store": N_("プッシュ配信はまだ一度も動いていません（webhook・webpush・mqtt 出力が無効）。"),
    "deliveries.counts": N_("経路別の件数"),
    "deliveries.recent": N_("最近の配信"),
    "deliveries.shown": N_("新しい順に最大 {n} 件"),
    "deliveries.filter": N_("絞り込む"),
    "deliveries.all": N_("すべて"),
    "deliveries.total": N_("合計"),
    "delivery.one": N_("配信の詳細"),
    "delivery.channel": N_("配信経路"),
    "delivery.alert": N_("情報"),
    "delivery.target": N_("宛先"),
    "delivery.subscription": N_("購読 ID"),
    "delivery.attempts": N_("試行回数"),
    "delivery.last": N_("直近の結果"),
    "delivery.next": N_("次の再試行"),
    "delivery.updated": N_("更新"),
    "delivery.log": N_("試行の記録"),
    "delivery.log.none": N_("まだ試行していません。"),
    "delivery.n": N_("回"),
    "delivery.time": N_("時刻"),
    "delivery.http": N_("HTTP ステータス"),
    "delivery.duration": N_("所要時間"),
    "delivery.retry": N_("今すぐ再送"),
    "delivery.retried": N_("再送を予約しました。"),
    "delivery.retried_later": N_("再送を予約しました（出力が動いていないため、次の起動時に送ります）。"),
    "delivery.not_dead": N_("この配信は失敗状態ではないため、再送できません。"),
    "delivery.back": N_("配信の一覧へ"),
    "delivery.masked": N_("トークン等は伏せています"),
    "delivery.api": N_("同じ内容の API"),
    "instruction": N_("呼びかけ"),
    "publisher.none": N_("発表者不明"),
    "sent_by": N_("送信"),
    "hazards": N_("災害種別"),
    "serial": N_("版数"),
    "bytes": N_("バイト"),
    "feed.long": N_("長期フィード"),
    "feed.counts": N_("取得 / 新着 / 失敗"),
    "outputs": N_("出力"),
    "backlog": N_("未処理"),
    "other_region": N_("対象地域外の情報"),
    "alarm.silent": N_("フィード「{name}」からの受信が途絶えています"),
}

# Keys of the spool and journal facts on the feeds page.
FACTS: dict[str, str] = {
    "dir": N_("ディレクトリ"),
    "waiting": N_("待機中のファイル"),
    "accepted": N_("受付"),
    "duplicate": N_("重複"),
    "rejected": N_("拒否"),
    "last_error": N_("直近のエラー"),
    "messages": N_("受信件数"),
    "applied": N_("処理済み"),
    "pending": N_("処理待ち"),
}

# Push channels by outbox name.
CHANNELS: dict[str, str] = {
    "webhook": N_("Webhook"),
    "webpush": N_("Web プッシュ"),
    "mqtt": N_("MQTT"),
}

# lalert.model.INFO_TYPES, every one (CAP Update is "update": 更新)
INFO_TYPES: dict[str, str] = {
    "issue": N_("発表"),
    "update": N_("更新"),
    "correction": N_("訂正"),
    "cancel": N_("取消"),
    "delay": N_("遅延"),
    "ack": N_("受領確認"),
    "error": N_("誤り通知"),
}

# Where a message came in (journal ``source``).
SOURCES: dict[str, str] = {
    "http": N_("HTTP 受信"),
    "spool": N_("スプール"),
    "feed": N_("フィード取得"),
    "desk": N_("デスクから投入"),
    "demo": N_("デモ"),
}

# lalert.model.FORMATS
FORMATS: dict[str, str] = {
    "jmaxml": N_("気象庁防災情報XML"),
    "commons": N_("Lアラート（公共情報コモンズ）"),
    "cap": N_("CAP"),
}

# Outputs by registry name.
OUTPUT_NAMES: dict[str, str] = {
    "signage": N_("サイネージ"),
    "map": N_("防災マップ"),
    "tiles": N_("地図タイル"),
    "feeds": N_("CAP フィード"),
    "sse": N_("イベント配信（SSE）"),
    "webhook": N_("Webhook"),
    "webpush": N_("Web プッシュ"),
    "mqtt": N_("MQTT"),
}

# CAP 1.2 severity (every format maps to it: lalert.vocab.severity_for_level).
SEVERITIES: dict[str, str] = {
    "Extreme": N_("甚大"),
    "Severe": N_("重大"),
    "Moderate": N_("中程度"),
    "Minor": N_("軽微"),
    "Unknown": N_("程度不明"),
}

STATUSES: dict[str, str] = {
    "actual": N_("実運用"),
    "exercise": N_("訓練"),
    "test": N_("試験"),
    "system": N_("システム"),
    "draft": N_("下書き"),
}

DELIVERY: dict[str, str] = {
    "sent": N_("送信済"),
    "handled": N_("処理済"),
    "queued": N_("待機中"),
    "pending": N_("送信中"),
    "retrying": N_("再試行中"),
    "dead": N_("失敗"),
    "skipped": N_("対象外"),
    "no_drills": N_("訓練は対象外"),
    "stopped": N_("停止中"),
}

OUTCOMES: dict[str, str] = {
    "accepted": N_("受付"),
    "active": N_("発表中"),
    "pending": N_("処理待ち"),
    "superseded": N_("更新済"),
    "cancelled": N_("取消"),
    "lifted": N_("解除"),
    "expired": N_("期限切れ"),
    "rejected": N_("拒否"),
    "duplicate": N_("重複"),
    "ignored": N_("無視"),
}

# A shelter's state: the public outputs' words (one term per state).
SHELTER_STATES: dict[str, str] = phrases.SHELTER_STATES


def pick(table: dict[str, str], key: str, lang: str) -> str:
    """A table's word in the desk's language; the key itself when the table lacks it (so
    nothing is ever hidden)."""
    msgid = table.get(key)
    return key if msgid is None else gettext(lang, msgid)


def kind_word(kind: str | None, lang: str) -> str:
    """An alert kind for people, in the words every output uses."""
    return phrases.kind_name(kind, lang)


def translator(lang: str):
    """``t("key")`` for templates."""

    other = phrases.LANG_NAMES["en" if lang == "ja" else "ja"]

    def t(key: str) -> str:
        # the switch to the other language is named in that language's own words
        return other if key == "lang.other" else pick(TEXT, key, lang)

    return t
