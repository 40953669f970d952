// The map: the board day's customers and technicians' last known positions
// (GET /api/positions, from the phones' location facts) with Leaflet.
// Positions are stored and sent in WGS-84; they are converted for display
// only, to the tile source's coordinate system (coords.js). The tile source
// is the server's (`--map-tiles`, GET /api/map); with none the markers
// stand on a blank background.
import { forDisplay } from "./coords.js";
import { dateOf, dayBounds } from "./day.js";

const C = window.doorstepConsole;
const L = window.L;
let tileSystem = "wgs84";
let noTiles = false;
let map;
let layer;

function marker(kind, lat, lon, label) {
  const p = forDisplay(tileSystem, lat, lon);
  const icon = L.divIcon({ className: "map-" + kind, iconSize: [14, 14] });
  const m = L.marker([p.lat, p.lon], { icon, title: label, alt: label, keyboard: true });
  m.bindTooltip(label);
  m.on("add", () => { const el = m.getElement(); if (el) el.setAttribute("aria-label", label); });
  return m;
}

async function showMap() {
  const box = document.getElementById("map");
  box.setAttribute("aria-label", C.t("Map: customers and technicians"));
  if (!map) {
    const settings = await C.api("GET", "/api/map");
    map = L.map(box, { attributionControl: false, zoomControl: true }).setView([31.23, 121.47], 12);
    if (settings.tiles) {
      tileSystem = settings.system;
      L.tileLayer(settings.tiles, { subdomains: settings.subdomains, maxZoom: 18 }).addTo(map);
      if (settings.attribution) L.control.attribution({ prefix: false }).addAttribution(settings.attribution).addTo(map);
    } else {
      noTiles = true;
    }
    layer = L.layerGroup().addTo(map);
  }
  document.getElementById("map-note").textContent = noTiles ? C.t("no map tiles configured: markers on a blank background") : "";
  for (const [cls, name] of [["in", "Zoom in"], ["out", "Zoom out"]]) {
    const b = box.querySelector(".leaflet-control-zoom-" + cls);
    if (b) { b.title = C.t(name); b.setAttribute("aria-label", C.t(name)); }
  }
  const zone = C.zone();
  const today = dateOf(zone, Date.now());
  const [board, positions] = await Promise.all([
    C.api("GET", "/api/board?day=" + today), C.api("GET", "/api/positions"),
  ]);
  const [dayStart, dayEnd] = dayBounds(zone, today);
  const customers = board.assignments.filter((a) => a.customer && a.customer.location && a.status !== "cancelled"
    && (!a.requested_window || (Date.parse(a.requested_window.start) < dayEnd && Date.parse(a.requested_window.end) > dayStart)));
  layer.clearLayers();
  const legend = document.getElementById("map-legend");
  legend.replaceChildren();
  const points = [];
  const item = (kind, text) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span"); swatch.className = "map-" + kind; swatch.setAttribute("aria-hidden", "true");
    li.append(swatch, document.createTextNode(text));
    legend.appendChild(li);
  };
  for (const a of customers) {
    const label = [a.customer.name, C.t(a.trade), a.customer.address].filter(Boolean).join(C.t(", "));
    const m = marker("customer", a.customer.location.lat, a.customer.location.lon, label);
    layer.addLayer(m); points.push(m.getLatLng());
  }
  for (const p of positions) {
    const label = C.t("{name}, last seen {time}", { name: p.name, time: C.time(p, "recorded_at") });
    const m = marker("technician", p.lat, p.lon, label);
    layer.addLayer(m); points.push(m.getLatLng());
    item("technician", label);
  }
  item("customer", C.t("Customers ({n})", { n: customers.length }));
  map.invalidateSize();
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 15 });
}

C.loaders.map = showMap;
