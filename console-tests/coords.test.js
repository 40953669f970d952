// The map's coordinate conversion (server/src/console/coords.js) against
// published vectors: eviltransform's WGS-84 → GCJ-02 fixtures and
// wandergis/coordtransform's GCJ-02 → BD-09 and WGS-84 → BD-09 examples.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const coords = () => import(pathToFileURL(path.join(__dirname, "../server/src/console/coords.js")).href);
const close = (got, want, tolerance, what) =>
  assert.ok(Math.abs(got - want) < tolerance, `${what}: got ${got}, want ${want}`);

test("wgs84 positions are drawn on gcj02 tiles at the published offsets", async () => {
  const { wgs84ToGcj02 } = await coords();
  for (const [name, wgs, gcj] of [
    ["Shanghai", [31.1774276, 121.5272106], [31.17530398364597, 121.531541859215]],
    ["Shenzhen", [22.543847, 113.912316], [22.540796131694766, 113.9171764808363]],
    ["Beijing", [39.911954, 116.377817], [39.91334545536069, 116.38404722455657]],
    ["Beijing 2", [39.915, 116.404], [39.91640428150164, 116.41024449916938]],
  ]) {
    const got = wgs84ToGcj02(...wgs);
    close(got.lat, gcj[0], 1e-9, name + " lat");
    close(got.lon, gcj[1], 1e-9, name + " lon");
  }
});

test("gcj02 and wgs84 positions are drawn on bd09 tiles at the published offsets", async () => {
  const { gcj02ToBd09, wgs84ToBd09 } = await coords();
  const fromGcj = gcj02ToBd09(39.915, 116.404);
  close(fromGcj.lat, 39.92133699351021, 1e-9, "gcj→bd lat");
  close(fromGcj.lon, 116.41036949371029, 1e-9, "gcj→bd lon");
  const fromWgs = wgs84ToBd09(39.915, 116.404);
  close(fromWgs.lat, 39.922699552216216, 1e-9, "wgs→bd lat");
  close(fromWgs.lon, 116.41662724378733, 1e-9, "wgs→bd lon");
});

test("positions outside china and on wgs84 tiles are drawn unchanged", async () => {
  const { forDisplay } = await coords();
  assert.deepEqual(forDisplay("gcj02", 39.7392, -104.9903), { lat: 39.7392, lon: -104.9903 });
  assert.deepEqual(forDisplay("bd09", -27.4698, 153.0251), { lat: -27.4698, lon: 153.0251 });
  assert.deepEqual(forDisplay("wgs84", 31.22, 121.44), { lat: 31.22, lon: 121.44 });
  assert.notDeepEqual(forDisplay("gcj02", 31.22, 121.44), { lat: 31.22, lon: 121.44 });
});
