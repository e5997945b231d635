/* lalert signage player: rotates languages, polls the .json with If-None-Match, swaps the
   page content in place when it changes, and keeps the last good page when the daemon
   cannot be reached. Without JavaScript the page still works (<meta refresh>). */
(function () {
  "use strict";
  var body = document.body;
  var HTML_LANG = { ja: "ja", en: "en", zh_Hans: "zh-Hans", ko: "ko", ja_x_easy: "ja-x-easy" };
  var etag = body.dataset.etag || "";
  var lastOk = Date.now();
  var idx = 0;
  var clockFmt = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit" });
  var timeFmt = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function num(name, dflt) { var v = parseFloat(body.dataset[name]); return v > 0 ? v * 1000 : dflt; }
  function langs() { return (body.dataset.langs || "ja").split(" "); }
  function $(id) { return document.getElementById(id); }

  function setLang(l) {
    body.dataset.cur = l;
    document.documentElement.lang = HTML_LANG[l] || "ja";
  }
  idx = Math.max(0, langs().indexOf(body.dataset.cur));
  setLang(langs()[idx]);

  function rotate() {
    var ls = langs();
    idx = (idx + 1) % ls.length;
    setLang(ls[idx]);
    setTimeout(rotate, num("rotate", 15000));
  }

  function tick() {
    var now = new Date();
    var c = $("clock");
    if (c) { c.hidden = false; c.textContent = clockFmt.format(now); c.setAttribute("datetime", now.toISOString()); }
    var off = $("offline");
    var stale = Date.now() - lastOk > num("stale", 60000);
    if (off) off.hidden = !stale;
    body.classList.toggle("is-offline", stale);
  }

  function markOk() {
    lastOk = Date.now();
    var u = $("updated");
    if (u) { u.hidden = false; u.querySelector(".t").textContent = timeFmt.format(new Date(lastOk)); }
    tick();
  }

  function swap() {
    return fetch(location.pathname + location.search, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("page " + r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("app");
      if (!fresh) throw new Error("no #app");
      var cur = body.dataset.cur;
      body.className = doc.body.className;
      ["langs", "rotate", "poll", "stale", "json", "etag"].forEach(function (k) {
        if (doc.body.dataset[k] !== undefined) body.dataset[k] = doc.body.dataset[k];
      });
      document.getElementById("app").replaceWith(document.importNode(fresh, true));
      var ls = langs();
      idx = Math.max(0, ls.indexOf(cur));
      setLang(ls[idx]);
      return doc.body.dataset.etag || "";
    });
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(body.dataset.json, { cache: "no-store", headers: headers }).then(function (r) {
      if (r.status === 304) return markOk();
      if (!r.ok) throw new Error("json " + r.status);
      var tag = r.headers.get("ETag") || "";
      if (tag && tag === etag) return markOk();
      return swap().then(function (pageTag) { etag = tag || pageTag; markOk(); });
    }).catch(function () { tick(); }).then(function () {
      setTimeout(poll, num("poll", 5000));
    });
  }

  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("sw.js").catch(function () {});
  }
  markOk();
  setInterval(tick, 1000);
  setTimeout(rotate, num("rotate", 15000));
  setTimeout(poll, num("poll", 5000));
})();
