/* lalert service worker: shows Web Push alerts and opens the alert on click.
   Served by lalert at /sw-push.js (Service-Worker-Allowed: /). The payload is the short
   JSON lalert sends: {title, body, level, level_label, instruction, place, link, id, tag,
   change, drill}. level_label is lalert's one wording ("警戒レベル4 避難指示" or
   "警戒レベル4相当情報［土砂災害］"): the worker never spells a level itself. */
self.addEventListener("push", (event) => {
  let msg = {};
  try {
    msg = event.data ? event.data.json() : {};
  } catch (e) {
    msg = { title: "lalert", body: event.data ? event.data.text() : "" };
  }
  const level = msg.level_label ? `${msg.level_label} ` : "";
  // words come from lalert's catalogue in the payload; the worker spells none itself
  const drill = msg.drill && msg.drill_label ? `【${msg.drill_label}】` : "";
  const title = `${drill}${level}${msg.title || "lalert"}`;
  const body = [msg.place, msg.body, msg.instruction].filter(Boolean).join("\n");
  event.waitUntil(
    self.registration.showNotification(title, {
      body,
      tag: msg.tag || msg.id || undefined,
      renotify: true,
      requireInteraction: (msg.level || 0) >= 4,
      data: { link: msg.link || "/" },
      lang: "ja",
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const link = (event.notification.data && event.notification.data.link) || "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((wins) => {
      for (const w of wins) {
        if (w.url === link && "focus" in w) return w.focus();
      }
      return self.clients.openWindow(link);
    })
  );
});
