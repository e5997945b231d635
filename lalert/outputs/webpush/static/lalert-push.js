/* lalert "notify me for this place" — a tiny ES module for the public map.

   import { subscribePlace, unsubscribePlace, pushSupported }
     from "/static/webpush/lalert-push.js";
   const sub = await subscribePlace({ lat: 32.80, lon: 130.72, radius_m: 1000,
                                      kinds: [], min_level: 3, lang: "en" });
   // sub = { id, unsubscribe_key, ... } (also kept in localStorage "lalert.push")
   await unsubscribePlace(sub.id);

   Contract: GET /api/v1/webpush/vapid-public-key → {publicKey};
   POST /api/v1/subscriptions {channel:"webpush", subscription, where, kinds, min_level,
   languages, lang} → 201 {id, unsubscribe_key, ...} | 429 (rate-limited) | 400 {error};
   `lang` (optional) is the language the subscriber reads lalert's words of a notification
   in (the page's); `languages` instead filters alerts by the language they are published in.
   DELETE /api/v1/subscriptions/{id} with header X-Unsubscribe-Key → 204. */

const STORE = "lalert.push";
// Messages are msgids of lalert's one catalogue (the Japanese term; lalert.i18n). A page
// passes their translations as `words` ({msgid: text}: the map's cfg.push_words).
const N_ = (msgid) => msgid;
const MSG = {
  unsupported: N_("この端末のブラウザはプッシュ通知に対応していません"),
  denied: N_("通知が許可されていません"),
  unavailable: N_("プッシュ通知は現在利用できません"),
  throttled: N_("登録が多すぎます。しばらくしてから再度お試しください"),
  failed: N_("登録に失敗しました (%(status)s)"),
};

function say(words, key, status) {
  const text = (words && words[MSG[key]]) || MSG[key];
  return text.replace("%(status)s", String(status));
}

function b64urlToBytes(s) {
  const pad = "=".repeat((4 - (s.length % 4)) % 4);
  const raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function saved() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || "[]");
  } catch (e) {
    return [];
  }
}

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export function savedSubscriptions() {
  return saved();
}

export async function subscribePlace({ lat, lon, radius_m = 1000, kinds = [], min_level = null,
                                       languages = [], lang = null, base = "",
                                       words = {} } = {}) {
  if (!pushSupported()) throw new Error(say(words, "unsupported"));
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error(say(words, "denied"));
  const reg = await navigator.serviceWorker.register(`${base}/sw-push.js`, { scope: `${base}/` });
  await navigator.serviceWorker.ready;
  const keyResp = await fetch(`${base}/api/v1/webpush/vapid-public-key`);
  if (!keyResp.ok) throw new Error(say(words, "unavailable"));
  const { publicKey } = await keyResp.json();
  let ps = await reg.pushManager.getSubscription();
  if (!ps) {
    ps = await reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: b64urlToBytes(publicKey),
    });
  }
  const body = { channel: "webpush", subscription: ps.toJSON(),
                 where: { point: { lat, lon }, radius_m }, kinds, min_level, languages };
  if (lang) body.lang = lang;
  const r = await fetch(`${base}/api/v1/subscriptions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (r.status === 429) throw new Error(say(words, "throttled"));
  if (!r.ok) throw new Error(out.error || say(words, "failed", r.status));
  const list = saved().filter((s) => s.id !== out.id);
  list.push({ id: out.id, unsubscribe_key: out.unsubscribe_key, lat, lon, radius_m });
  localStorage.setItem(STORE, JSON.stringify(list));
  return out;
}

export async function unsubscribePlace(id, { base = "" } = {}) {
  const list = saved();
  const entry = list.find((s) => s.id === id);
  if (!entry) return false;
  const r = await fetch(`${base}/api/v1/subscriptions/${encodeURIComponent(id)}`, {
    method: "DELETE",
    headers: { "X-Unsubscribe-Key": entry.unsubscribe_key },
  });
  if (r.ok || r.status === 404) {
    localStorage.setItem(STORE, JSON.stringify(list.filter((s) => s.id !== id)));
    return true;
  }
  return false;
}
