/* lalert public map: fills folium's layers from /map/data.json and keeps them current.
 * Plain ES2017 and Leaflet only (no framework), so it runs on old phones and loads fast.
 * Polling is conditional (If-None-Match): an unchanged state costs a 304 and no redraw. */
"use strict";
window.lalertMap = (function () {
  let cfg, map, layers, ui, etag = null, data = null, here = null, hereMarker = null;
  let boundary = null, land = 1, cluster = null, openShelters = null;

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

  // The level's label comes from the server (lalert.vocab.levels): a municipality's order
  // ("警戒レベル4 避難指示") and JMA's "警戒レベル4相当情報［土砂災害］" are never spelled here.
  // Without a level (tsunami, earthquake, notices) the kind names it: "津波", not "レベルなし".
  function levelText(p) {
    return p.level_label || p.kind_name || ui.no_level;
  }

  function alertItem(p, extra) {
    const lv = p.level || p.grade_level || 0;
    return el("li", { class: "alert lv" + lv, "data-id": p.id },
      el("strong", { class: "level" }, levelText(p)), " ", bdi(p.summary || p.title), extra,
      p.action ? el("span", { class: "action" }, p.action) : null,
      p.instruction ? el("span", { class: "instruction" }, bdi(p.instruction)) : null);
  }

  function drawAlerts() {
    layers.alerts.clearLayers();
    const list = document.getElementById("lalert-alerts");
    list.replaceChildren();
    const feats = data.alerts.features;
    for (const f of feats) {
      // a warning without 警戒レベル (大雪特別警報 …) in the colour of its class (grade_level)
      const p = f.properties, lv = p.level || p.grade_level || 0;
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
          html: el("span", null, p.level ? "L" + p.level : (p.grade_word || "!"), p.area ? " " : null, bdi(p.area)),
        }),
      }).addTo(layers.alerts);
    }
    // The list: every alert once, highest level first then newest (the server's order),
    // each place named once.
    for (const p of data.list) {
      list.append(alertItem(p, p.areas.length ? el("span", { class: "areas" }, " (",
        ...p.areas.flatMap((a, i) => i ? ["・", bdi(a)] : [bdi(a)]), ")") : null));
    }
    if (!data.list.length) list.append(el("li", null, ui.no_alerts));
  }

  function shelterClass(s) {
    return s.open ? "open" : ["closed", "unopened", "full"].includes(s.state) ? "closed"
      : "unknown";
  }

  function shelterIcon(s) {
    const cls = shelterClass(s);
    const glyph = { open: "✓", closed: "×", unknown: "避" }[cls];
    return L.divIcon({ className: "mk " + cls, html: el("span", null, glyph), iconSize: [22, 22] });
  }

  // A cluster of shelter markers: its count as text, its name (for screen readers and the
  // tooltip) set on the marker before Leaflet reads it in _initIcon.
  function clusterIcon(c) {
    const n = c.getChildCount();
    c.options.title = ui.cluster.replace("{n}", String(n));
    const size = n < 10 ? 30 : n < 100 ? 36 : 42;
    return L.divIcon({ className: "mk-cluster", html: el("span", null, String(n)),
      iconSize: [size, size] });
  }

  // Open shelters are never clustered and sit above every other marker: they are what a
  // resident looks for. The thousands of other sites are clustered (leaflet.markercluster,
  // when the daemon serves it) and come apart from zoom 15, street level.
  function shelterLayers() {
    if (!cluster) {
      cluster = L.markerClusterGroup ? L.markerClusterGroup({
        chunkedLoading: true, disableClusteringAtZoom: 15, maxClusterRadius: 48,
        showCoverageOnHover: false, spiderfyOnMaxZoom: false, iconCreateFunction: clusterIcon,
      }) : L.layerGroup();
      openShelters = L.layerGroup();
      layers.shelters.addLayer(cluster).addLayer(openShelters);
    }
    cluster.clearLayers();
    openShelters.clearLayers();
  }

  function drawShelters() {
    shelterLayers();
    const hazard = document.getElementById("lalert-hazard").value;
    const rest = [];
    for (const s of data.shelters) {
      if (hazard && !s.hazards.includes(hazard)) continue;
      const hz = s.hazards.map(h => cfg.hazards[h] || h).join("、");
      const title = s.name + " — " + s.state_label;
      const cls = shelterClass(s);
      const m = L.marker([s.lat, s.lon], {
        icon: shelterIcon(s), title: title, alt: title,
        zIndexOffset: cls === "open" ? 10000 : cls === "closed" ? -1000 : 0,
      }).bindPopup(el("div", null, el("strong", null, bdi(s.name)), el("br"), s.state_label,
        hz ? el("br") : null, hz ? ui.hazards + ": " + hz : null));
      if (cls === "open") openShelters.addLayer(m); else rest.push(m);
    }
    if (cluster.addLayers) cluster.addLayers(rest); else rest.forEach(m => cluster.addLayer(m));
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
      // Japan time, as /text and signage say it, whatever zone the device keeps
      status(ui.updated + ": " + new Date().toLocaleTimeString(cfg.locale || "ja",
                                                                { timeZone: "Asia/Tokyo" }));
      document.body.dataset.version = String(data.version);
      if (here) lookup(here.lat, here.lon, false);
    } catch (err) {
      status("⚠ " + err.message);
    }
  }

  // "Where am I" at a point: alerts covering it and the nearest open shelters in the panel.
  // fit: also move the map to show the point and those shelters (not when the data
  // refreshes, nor when the URL already chose the view).
  async function lookup(lat, lon, fit = true) {
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
      for (const a of ans.alerts) alerts.append(alertItem(a, null));
      const unplaced = ans.unplaced || [];
      if (!ans.alerts.length) alerts.append(el("li", null, unplaced.length ? ui.here_none_placed : ui.here_none));
      // In force at places the map has no shape for (e.g. a tsunami forecast region):
      // they may cover this point, so they are named here, never silently left out.
      const maybe = el("ul", { class: "here-unplaced" });
      const named = (g) => g.places.join("、") +
        (g.more_places ? " " + ui.more_places.replace("%(n)s", String(g.more_places)) : "");
      for (const a of unplaced) {
        if (!a.groups) {  // an answer from before groups: the alert's places as one list
          maybe.append(alertItem(a, el("span", { class: "places" }, " (", bdi(named(a)), ")")));
          continue;
        }
        // each region beside what is in force there (大津波警報 here, 津波予報 there),
        // never the alert's gravest over them all
        const groups = el("ul", { class: "places" });
        for (const g of a.groups) {
          groups.append(el("li", null, g.level_label ? el("strong", null, g.level_label + ": ") : null,
            bdi(named(g))));
        }
        maybe.append(el("li", { class: "alert", "data-id": a.id }, bdi(a.summary || a.title), groups,
          a.instruction ? el("span", { class: "instruction" }, bdi(a.instruction)) : null));
      }
      const shelters = el("ol", { class: "here-shelters", id: "lalert-nearest" });
      for (const s of ans.shelters) {
        shelters.append(el("li", { "data-id": s.id }, el("strong", null, bdi(s.name)), " ",
          el("span", { class: "dist" }, ui.distance.replace("%(m)s", String(s.distance_m)).replace("%(min)s", String(s.walk_min))),
          " ", el("span", { class: "state" }, "(" + s.state_label + ")")));
      }
      if (!ans.shelters.length) shelters.append(el("li", null, ui.nearest_none));
      const notify = el("button", { type: "button", id: "lalert-notify" }, ui.notify_btn);
      notify.addEventListener("click", () => subscribe(lat, lon, notify));
      // the heading says what the list is: open sites only, or with sites whose opening
      // nobody reported (状況不明), or those alone — never "open" over 状況不明
      const open = ans.shelters.filter(s => s.open).length;
      const heading = open === ans.shelters.length ? ui.nearest
        : open ? ui.nearest_any : ui.nearest_unreported;
      box.replaceChildren(el("h2", null, ui.here_alerts), alerts,
        ...(unplaced.length ? [el("h3", null, ui.here_unplaced), maybe] : []),
        el("h2", null, heading), shelters, notify);
      const pts = [[lat, lon]].concat(ans.shelters.slice(0, 3).map(s => [s.lat, s.lon]));
      if (fit) map.fitBounds(pts, { padding: [60, 60], maxZoom: 15 });
    } catch (err) {
      box.textContent = "⚠ " + err.message;
    }
  }

  // "Notify me for this place": Web Push through the webpush output's own module, loaded
  // only when asked so the map stays light for readers who never subscribe.
  async function subscribe(lat, lon, button) {
    try {
      const push = await import(cfg.push_module);
      // No `languages` filter: it selects alerts by the language they are published in,
      // and a visitor reading this page in English or Korean must still be told of the
      // Japanese 避難指示 for this place. `lang` is the page's language: the words lalert
      // adds to a notification (level, 解除, 訓練) come in it; the alert's own stay as published.
      await push.subscribePlace({ lat: lat, lon: lon, radius_m: 1000, languages: [],
                                  lang: cfg.lang, words: cfg.push_words });
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
    if (o.land_opacity === 0) land = 0;  // over a base map: lines only
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

  // A vector (MVT) base map from a local .pmtiles archive that lalert serves under
  // /basemap/, in protomaps-leaflet's built-in light style.
  function basemapLayer(o) {
    const P = window.protomapsL;
    if (!P) return L.layerGroup();
    return P.leafletLayer({ url: o.url, flavor: "light", lang: o.lang, maxDataZoom: o.max_native_zoom,
      attribution: o.attribution, zIndex: 1 });
  }

  // "#zoom/lat/lon" (as leaflet-hash and OpenStreetMap write it): a link, or the signage QR
  // code, opens the map there; moving the map writes the place back without new history.
  function parseHash(h) {
    const m = /^#(\d{1,2}(?:\.\d+)?)\/(-?\d{1,2}(?:\.\d+)?)\/(-?\d{1,3}(?:\.\d+)?)$/.exec(h || "");
    if (!m) return null;
    const z = Number(m[1]), lat = Number(m[2]), lon = Number(m[3]);
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return null;
    return { z: Math.max(map.getMinZoom(), Math.min(map.getMaxZoom(), Math.round(z))), lat: lat, lon: lon };
  }

  function fromHash() {
    const v = parseHash(location.hash);
    if (v) map.setView([v.lat, v.lon], v.z, { animate: false });
    return v !== null;
  }

  function toHash() {
    const c = map.getCenter(), z = map.getZoom();
    const digits = Math.max(0, Math.ceil(Math.log(z) / Math.LN2));
    const h = "#" + z + "/" + c.lat.toFixed(digits) + "/" + c.lng.toFixed(digits);
    if (h !== location.hash) history.replaceState(history.state, "", h);
  }

  function init(config) {
    cfg = config; ui = cfg.ui; map = window[cfg.map];
    // ?all=1 on the page asks for alerts outside the deployment's region too
    if (new URLSearchParams(window.location.search).get("all") === "1") cfg.data += "&all=1";
    layers = {};
    for (const [k, name] of Object.entries(cfg.layers)) layers[k] = window[name];
    map.getContainer().setAttribute("aria-label", ui.title);
    map.getContainer().setAttribute("role", "region");
    if (cfg.attribution && map.attributionControl) map.attributionControl.addAttribution(cfg.attribution);
    // ?here=lat,lon (the signage QR code: the resident stands at the screen): answer
    // "where am I" there at once, keeping the view the URL chose
    const at = /^(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)$/.exec(
      new URLSearchParams(location.search).get("here") || "");
    if (at && Math.abs(Number(at[1])) <= 90 && Math.abs(Number(at[2])) <= 180) {
      here = { lat: Number(at[1]), lon: Number(at[2]) };
    }
    // the place in the URL's hash; else around ?here= (the point answered for must be
    // on the map, not off the deployment's region); else the region [w, s, e, n]
    if (!fromHash()) {
      const r = cfg.region;
      if (here) map.setView([here.lat, here.lon], 16, { animate: false });
      else map.fitBounds([[r[1], r[0]], [r[3], r[2]]], { animate: false });
    }
    map.on("moveend", toHash);
    window.addEventListener("hashchange", fromHash);
    map.on("click", e => lookup(e.latlng.lat, e.latlng.lng));
    map.on("baselayerchange", () => {
      if (boundary && land) { land = 0; boundary.rerenderTiles(); }
    });
    document.getElementById("lalert-where").addEventListener("click", locate);
    document.getElementById("lalert-hazard").addEventListener("change", () => {
      if (data) drawShelters();
      if (here) lookup(here.lat, here.lon);
    });
    load();  // and, with ?here=, lookup() once the data is in
    setInterval(load, cfg.poll_ms);
  }

  return { init: init, lookup: lookup, reload: load, boundaryLayer: boundaryLayer,
    basemapLayer: basemapLayer };
})();
