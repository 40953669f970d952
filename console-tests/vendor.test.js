// The console's vendored library files (server/src/console/vendor/, made by
// scripts/vendor-console) are byte for byte the files of the versions pinned
// in server/console-vendor/package.json. Needs
// `npm ci --prefix server/console-vendor` first.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const VENDOR = path.join(__dirname, "../server/console-vendor");
const COPIES = path.join(__dirname, "../server/src/console/vendor");
const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

const manifest = fs.readFileSync(path.join(VENDOR, "files.txt"), "utf8").split("\n")
  .filter((l) => l.trim() && !l.startsWith("#")).map((l) => l.trim().split(/\s+/));

test("installed libraries are the versions pinned in package.json", () => {
  const pinned = JSON.parse(fs.readFileSync(path.join(VENDOR, "package.json"), "utf8")).dependencies;
  assert.ok(Object.keys(pinned).length > 0, "no pinned library");
  for (const [name, version] of Object.entries(pinned)) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} must be pinned to an exact version`);
    const installed = path.join(VENDOR, "node_modules", name, "package.json");
    assert.ok(fs.existsSync(installed), `${name} is not installed: run npm ci --prefix server/console-vendor`);
    assert.equal(JSON.parse(fs.readFileSync(installed, "utf8")).version, version, name);
  }
});

test("vendored copies match the pinned libraries byte for byte", () => {
  assert.ok(manifest.length > 0, "empty manifest");
  for (const [from, to] of manifest) {
    const source = path.join(VENDOR, "node_modules", from);
    assert.ok(fs.existsSync(source), `${from} is not installed: run npm ci --prefix server/console-vendor`);
    assert.equal(sha256(path.join(COPIES, to)), sha256(source), `${to} differs from ${from}: run scripts/vendor-console`);
  }
});

test("every vendored file is in the manifest", () => {
  const listed = new Set(manifest.map(([, to]) => to));
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.relative(COPIES, path.join(dir, e.name))]);
  for (const file of walk(COPIES)) assert.ok(listed.has(file), `${file} is vendored but not in files.txt`);
});
