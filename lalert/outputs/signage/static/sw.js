/* lalert signage service worker: network first, the last good copy when the daemon is out
   of reach. The .json is never answered from the cache, so the player can tell it is
   offline and say so on screen. */
var CACHE = "lalert-signage-v1";
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.endsWith(".json")) return;
  e.respondWith(fetch(req).then(function (resp) {
    if (resp.ok) {
      var copy = resp.clone();
      caches.open(CACHE).then(function (c) { return c.put(url.href, copy); });
    }
    return resp;
  }).catch(function () {
    return caches.match(url.href, { ignoreVary: true }).then(function (hit) {
      return hit || Response.error();
    });
  }));
});
