/* lalert public map: fills folium's layers from /map/data.json and keeps them current.
 * Plain ES2017 and Leaflet only (no framework), so it runs on old phones and loads fast.
 * Polling is conditional (If-None-Match): an unchanged state costs a 304 and no redraw. */
"use strict";
window.lalertMap = (function () {
  let cfg, map, layers, ui, etag = null, data = null, here = null, hereMarker = null;
  let boundary = null, land = 1;

  const STROKE = { 5: "#0c000c", 4: "#6e006e", 3: "#b31c00", 2: "#8a8200", 1: "#666666" };
  const DASH = { 5: null, 4: null, 3: "10 5", 2: "4 6", 1: "1 6" };
  const WEIGHT = { 5: 4, 4: 3, 3: 3, 2: 2, 1: 2 };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c);
    }
    return e;
  }

  // Text from a message, isolated: bidi controls in it reorder nothing around it.
  function bdi(text) {
    return text === null || text === undefined || text === "" ? null : el("bdi", null, text);
  }

  function levelText(p) {
    if (p.level === null || p.level === undefined) return ui.no_level;
    const sep = cfg.lang === "en" ? " " : "";
    return ui.level + sep + p.level + (p.level_word ? (cfg.lang === "en" ? " — " : " ") + p.level_word : "");
  }

  function drawAlerts() {
    layers.alerts.clearLayers();
    const list = document.getElementById("lalert-alerts");
    list.replaceChildren();
    const seen = new Set();
    const feats = data.alerts.features;
    for (const f of feats) {
      const p = f.properties, lv = p.level || 0;
      L.geoJSON(f, {
        interactive: false,
        style: () => ({
          color: STROKE[lv] || "#333333", weight: WEIGHT[lv] || 2, dashArray: lv in DASH ? DASH[lv] : "2 6",
          fillColor: p.colour, fillOpacity: 0.3,
        }),
      }).addTo(layers.alerts);
      // The level is written on the map too: colour is never the only carrier.
      L.marker([p.label[1], p.label[0]], {
        interactive: false, keyboard: false,
        icon: L.divIcon({
          className: "level-label lv" + lv, iconSize: null,
          // An Element, not an HTML string: area names come from messages (stored XSS).
          html: el("span", null, p.level ? "L" + p.level : "!", p.area ? " " : null, bdi(p.area)),
        }),
      }).addTo(layers.alerts);
      if (!seen.has(p.id)) {
        seen.add(p.id);
        const areas = feats.filter(g => g.properties.id === p.id && g.properties.area)
          .map(g => g.properties.area);
        list.append(el("li", { class: "alert lv" + lv },
          el("strong", null, levelText(p)), " ", bdi(p.headline || p.title),
          areas.length ? el("span", { class: "areas" }, " (",
            ...areas.flatMap((a, i) => i ? ["・", bdi(a)] : [bdi(a)]), ")") : null,
          p.action ? el("span", { class: "action" }, p.action) : null));
      }
    }
    if (!feats.length) list.append(el("li", null, ui.no_alerts));
  }

  function shelterIcon(s) {
    const cls = s.open ? "open" : (s.state === "closed" || s.state === "unopened") ? "closed"
      : "unknown";
    const glyph = { open: "✓", closed: "×", unknown: "避" }[cls];
    return L.divIcon({ className: "mk " + cls, html: glyph, iconSize: [22, 22] });
  }

  function drawShelters() {
    layers.shelters.clearLayers();
    const hazard = document.getElementById("lalert-hazard").value;
    for (const s of data.shelters) {
      if (hazard && !s.hazards.includes(hazard)) continue;
      const hz = s.hazards.map(h => cfg.hazards[h] || h).join("、");
      const title = s.name + " — " + s.state_label;
      L.marker([s.lat, s.lon], { icon: shelterIcon(s), title: title, alt: title })
        .bindPopup(el("div", null, el("strong", null, bdi(s.name)), el("br"), s.state_label,
          hz ? el("br") : null, hz ? ui.hazards + ": " + hz : null))
        .addTo(layers.shelters);
    }
  }

  function drawHotspots() {
    layers.hotspots.clearLayers();
    for (const h of data.hotspots) {
      const title = ui.hotspots + ": " + h.name + (h.ssid ? " (" + h.ssid + ")" : "");
      const label = el("div", null, ui.hotspots + ": ", bdi(h.name), h.ssid ? " (" : null, bdi(h.ssid),
        h.ssid ? ")" : null);
      L.marker([h.lat, h.lon], {
        icon: L.divIcon({ className: "mk wifi", html: "W", iconSize: [20, 20] }),
        title: title, alt: title,
      }).bindPopup(label).addTo(layers.hotspots);
    }
  }

  function status(text) {
    document.getElementById("lalert-status").textContent = text;
  }

  async function load() {
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const r = await fetch(cfg.data, { headers: headers, cache: "no-store" });
      if (r.status === 304) return;
      if (!r.ok) throw new Error("HTTP " + r.status);
      etag = r.headers.get("ETag");
      data = await r.json();
      drawAlerts(); drawShelters(); drawHotspots();
      status(ui.updated + ": " + new Date().toLocaleTimeString(cfg.lang === "en" ? "en-GB" : "ja-JP"));
      document.body.dataset.version = String(data.version);
      if (here) lookup(here.lat, here.lon);
    } catch (err) {
      status("⚠ " + err.message);
    }
  }

  async function lookup(lat, lon) {
    here = { lat: lat, lon: lon };
    if (hereMarker) hereMarker.remove();
    hereMarker = L.circleMarker([lat, lon], {
      radius: 9, color: "#0050b3", weight: 3, fillColor: "#4da3ff", fillOpacity: 0.9,
      interactive: false,
    }).addTo(map);
    const hazard = document.getElementById("lalert-hazard").value;
    const q = new URLSearchParams({ lat: lat.toFixed(6), lon: lon.toFixed(6), lang: cfg.lang });
    if (hazard) q.set("hazard", hazard);
    const box = document.getElementById("lalert-here");
    try {
      const r = await fetch(cfg.here + "?" + q.toString(), { cache: "no-store" });
      const ans = await r.json();
      const alerts = el("ul", { class: "here-alerts" });
      for (const a of ans.alerts) {
        alerts.append(el("li", { class: "alert lv" + (a.level || 0) }, el("strong", null, levelText(a)),
          " ", bdi(a.headline || a.title), a.action ? el("span", { class: "action" }, a.action) : null));
      }
      if (!ans.alerts.length) alerts.append(el("li", null, ui.here_none));
      const shelters = el("ol", { class: "here-shelters", id: "lalert-nearest" });
      for (const s of ans.shelters) {
        shelters.append(el("li", { "data-id": s.id }, el("strong", null, bdi(s.name)), " ",
          el("span", { class: "dist" }, s.distance_m + " m・" + ui.walk + " " + s.walk_min + " " + ui.minutes),
          " ", el("span", { class: "state" }, "(" + s.state_label + ")")));
      }
      if (!ans.shelters.length) shelters.append(el("li", null, ui.nearest_none));
      const notify = el("button", { type: "button", id: "lalert-notify" }, ui.notify_btn);
      notify.addEventListener("click", () => subscribe(lat, lon, notify));
      box.replaceChildren(el("h2", null, ui.here_alerts), alerts, el("h2", null, ui.nearest), shelters,
        notify);
      const pts = [[lat, lon]].concat(ans.shelters.slice(0, 3).map(s => [s.lat, s.lon]));
      map.fitBounds(pts, { padding: [60, 60], maxZoom: 15 });
    } catch (err) {
      box.textContent = "⚠ " + err.message;
    }
  }

  // "Notify me for this place": Web Push through the webpush output's own module, loaded
  // only when asked so the map stays light for readers who never subscribe.
  async function subscribe(lat, lon, button) {
    try {
      const push = await import(cfg.push_module);
      if (!push.pushSupported()) throw new Error(ui.geo_error);
      await push.subscribePlace({ lat: lat, lon: lon, radius_m: 1000, languages: [cfg.lang] });
      button.replaceWith(el("p", { class: "notify-ok", role: "status" }, ui.notify_ok));
    } catch (err) {
      status("⚠ " + err.message);
    }
  }

  function locate() {
    if (!navigator.geolocation) { status(ui.geo_error); return; }
    navigator.geolocation.getCurrentPosition(
      pos => lookup(pos.coords.latitude, pos.coords.longitude),
      () => status(ui.geo_error), { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  // Municipal boundaries from lalert's own vector tiles (layer "municipalities"), painted on
  // canvas by protomaps-leaflet: light land over the map's sea-blue background, thin grey
  // lines. No outside base map. When a raster base layer (地理院タイル) is chosen the land
  // fill steps aside and only the lines stay.
  function boundaryLayer(o) {
    const P = window.protomapsL;
    if (!P) return L.layerGroup();  // script failed to load: the rest of the map still works
    boundary = P.leafletLayer({
      url: o.url, levelDiff: 0, maxDataZoom: o.maxzoom, minZoom: o.minzoom,
      attribution: o.attribution || "", zIndex: 2,
      paintRules: [
        { dataLayer: "municipalities",
          symbolizer: new P.PolygonSymbolizer({ fill: o.land, opacity: () => land }) },
        { dataLayer: "municipalities",
          symbolizer: new P.LineSymbolizer({
            color: o.line, lineJoin: "round",
            width: P.exp(1.4, [[6, 0.5], [10, 0.9], [14, 1.6], [18, 2.4]]),
          }) },
      ],
      labelRules: [],
    });
    return boundary;
  }

  function init(config) {
    cfg = config; ui = cfg.ui; map = window[cfg.map];
    layers = {};
    for (const [k, name] of Object.entries(cfg.layers)) layers[k] = window[name];
    map.getContainer().setAttribute("aria-label", ui.title);
    map.getContainer().setAttribute("role", "region");
    map.on("click", e => lookup(e.latlng.lat, e.latlng.lng));
    map.on("baselayerchange", () => {
      if (boundary && land) { land = 0; boundary.rerenderTiles(); }
    });
    document.getElementById("lalert-where").addEventListener("click", locate);
    document.getElementById("lalert-hazard").addEventListener("change", () => {
      if (data) drawShelters();
      if (here) lookup(here.lat, here.lon);
    });
    load();
    setInterval(load, cfg.poll_ms);
  }

  return { init: init, lookup: lookup, reload: load, boundaryLayer: boundaryLayer };
})();
