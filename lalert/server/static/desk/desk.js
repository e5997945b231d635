// Refreshes the overview's live part: polls /desk/live; the browser revalidates with
// If-None-Match, so an unchanged state costs a 304. Without script, <noscript> meta
// refresh reloads the page instead.
(() => {
  "use strict";
  // Destructive forms ask first (data-confirm holds the question).
  document.addEventListener("submit", (ev) => {
    const q = ev.target.dataset && ev.target.dataset.confirm;
    if (q && !window.confirm(q)) ev.preventDefault();
  });
  const box = document.getElementById("live");
  const stamp = document.getElementById("stamp");
  if (!box || !window.fetch) return;
  const src = box.dataset.src;
  const PERIOD = Number(box.dataset.period) || 5000;
  let last = null;
  async function tick() {
    try {
      const r = await fetch(src, { cache: "no-cache", credentials: "same-origin" });
      if (r.redirected || r.status === 401 || r.status === 403) { location.reload(); return; }
      if (r.ok) {
        const etag = r.headers.get("ETag");
        if (etag !== last) {
          // the server's escaped HTML, parsed inertly and moved in (never innerHTML)
          const doc = new DOMParser().parseFromString(await r.text(), "text/html");
          box.replaceChildren(...doc.body.childNodes);
          last = etag;
        }
        if (stamp) stamp.textContent = new Date().toLocaleTimeString("ja-JP", { hour12: false });
        box.removeAttribute("aria-busy");
      }
    } catch (e) {
      box.setAttribute("aria-busy", "true");
    }
    setTimeout(tick, PERIOD);
  }
  setTimeout(tick, 0);
})();
