// Map coordinates: positions are stored and sent in WGS-84 (what phones
// report); Chinese map tiles are drawn in GCJ-02 (AMap, Tianditu's Chinese
// layers, Tencent) or BD-09 (Baidu). These convert for display only, with
// the published GCJ-02 approximation (the same as eviltransform's).

const A = 6378245.0; // Krasovsky 1940 semi-major axis
const EE = 0.00669342162296594323; // its eccentricity squared

/** Outside mainland China GCJ-02 is WGS-84 (the usual bounding box). */
export function outOfChina(lat, lon) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function shiftLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
  r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
  return r;
}

function shiftLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
  r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
  return r;
}

/** WGS-84 → GCJ-02 ({ lat, lon } in degrees). */
export function wgs84ToGcj02(lat, lon) {
  if (outOfChina(lat, lon)) return { lat, lon };
  let dLat = shiftLat(lon - 105.0, lat - 35.0);
  let dLon = shiftLon(lon - 105.0, lat - 35.0);
  const radLat = lat / 180.0 * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * Math.PI);
  dLon = (dLon * 180.0) / (A / sqrtMagic * Math.cos(radLat) * Math.PI);
  return { lat: lat + dLat, lon: lon + dLon };
}

const X_PI = Math.PI * 3000.0 / 180.0;

/** GCJ-02 → BD-09 (Baidu's further offset). */
export function gcj02ToBd09(lat, lon) {
  const z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
  const theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
  return { lat: z * Math.sin(theta) + 0.006, lon: z * Math.cos(theta) + 0.0065 };
}

/** WGS-84 → BD-09. */
export function wgs84ToBd09(lat, lon) {
  if (outOfChina(lat, lon)) return { lat, lon };
  const g = wgs84ToGcj02(lat, lon);
  return gcj02ToBd09(g.lat, g.lon);
}

/**
 * A stored WGS-84 point as the tile source draws it: `system` is the
 * tiles' coordinate system, "wgs84" (OSM, Tianditu's WGS layers, none),
 * "gcj02" or "bd09".
 */
export function forDisplay(system, lat, lon) {
  if (system === "gcj02") return wgs84ToGcj02(lat, lon);
  if (system === "bd09") return wgs84ToBd09(lat, lon);
  return { lat, lon };
}
