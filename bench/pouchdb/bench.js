// PouchDB baseline for the Doorstep sync benchmark (docs/PERFORMANCE.md,
// "Sync"; issue 16's budgets), PouchDB tuned as its users tune it
// (`batch_size` 1000).
//
// - upload: the same events the Rust bench uploads (`sync-bench`'s export: a
//   JSON array of visit events in outbox order) become one document each
//   (`_id` = the event id) in a local in-memory PouchDB (not timed: that is
//   the device's pre-filled store); a one-off replication to an
//   express-pouchdb server (the server part of pouchdb-server, in memory)
//   on loopback is timed.
// - download (`--assignments FILE`): the same assignments the Rust bench
//   downloads, one document each, put on the server (not timed); a one-off
//   replication from it into a fresh local database is timed.
// - day (`--day`): upload then download in one timed run, the events
//   carrying `--photos K` attachments of `--photo-kib N` random bytes (a
//   JPEG does not compress), as a technician's evening sync would.
//
// Bytes each way are counted by a tiny TCP proxy between the two (HTTP
// headers and bodies, as they are on the wire). With `--via-stdin` the
// script prints `listening <port>` and reads `via <port>` from stdin: the
// Rust bench's emulated weak link in front of that port, which counts.
//
// Usage: node bench.js --events FILE [--assignments FILE] [--iterations 3]
//          [--day --photos 40 --photo-kib 200] [--via-stdin]
// The last stdout line is a JSON summary (read by sync-bench --pouchdb).
'use strict';

const fs = require('fs');
const http = require('http');
const net = require('net');
const PouchDB = require('pouchdb-core')
  .plugin(require('pouchdb-adapter-memory'))
  .plugin(require('pouchdb-adapter-http'))
  .plugin(require('pouchdb-mapreduce'))
  .plugin(require('pouchdb-replication'));
const expressPouchDB = require('express-pouchdb');

const BATCH_SIZE = 1000;

function args() {
  const a = { events: null, assignments: null, iterations: 3, day: false, photos: 0, photoKib: 200, viaStdin: false };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--events') { a.events = v; i++; }
    else if (argv[i] === '--assignments') { a.assignments = v; i++; }
    else if (argv[i] === '--iterations') { a.iterations = Math.max(1, parseInt(v, 10)); i++; }
    else if (argv[i] === '--day') { a.day = true; }
    else if (argv[i] === '--photos') { a.photos = parseInt(v, 10); i++; }
    else if (argv[i] === '--photo-kib') { a.photoKib = parseInt(v, 10); i++; }
    else if (argv[i] === '--via-stdin') { a.viaStdin = true; }
    else throw new Error(`unknown flag ${argv[i]}`);
  }
  if (!a.events) throw new Error('--events FILE is required');
  return a;
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

// A loopback TCP proxy to `target` that counts bytes each way.
function countingProxy(target) {
  const counts = { up: 0, down: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client); sockets.add(upstream);
    client.on('data', (d) => { counts.up += d.length; });
    upstream.on('data', (d) => { counts.down += d.length; });
    client.pipe(upstream); upstream.pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', close); upstream.on('error', close);
    client.on('close', close); upstream.on('close', close);
  });
  server.counts = counts;
  server.closeAll = () => { for (const s of sockets) s.destroy(); server.close(); };
  return server;
}

// The port the device talks to: a counting proxy of our own, or the Rust
// bench's weak link (which counts) when `via` is given.
async function route(port, via) {
  if (via) return { port: via, counts: null, close() {} };
  const proxy = countingProxy(port);
  const p = await listen(proxy);
  return { port: p, counts: proxy.counts, close() { proxy.closeAll(); } };
}

async function fill(db, docs) {
  for (let k = 0; k < docs.length; k += 1000) {
    await db.bulkDocs(docs.slice(k, k + 1000));
  }
}

function timer() {
  const started = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - started) / 1e9;
}

async function upload(docs, i, port, via) {
  const r = await route(port, via);
  const local = new PouchDB(`device-up-${process.pid}-${i}`, { adapter: 'memory' });
  await fill(local, docs);
  const elapsed = timer();
  const result = await local.replicate.to(`http://127.0.0.1:${r.port}/visits-${i}`, { batch_size: BATCH_SIZE });
  const secs = elapsed();
  const remote = new PouchDB(`http://127.0.0.1:${port}/visits-${i}`);
  const info = await remote.info();
  if (result.docs_written !== docs.length || info.doc_count !== docs.length) {
    throw new Error(`replicated ${result.docs_written}, server holds ${info.doc_count}, expected ${docs.length}`);
  }
  await local.destroy();
  r.close();
  return { secs, up: r.counts && r.counts.up, down: r.counts && r.counts.down };
}

async function download(docs, i, port, via) {
  const server = new PouchDB(`http://127.0.0.1:${port}/assignments-${i}`);
  await fill(server, docs);
  const r = await route(port, via);
  const local = new PouchDB(`device-down-${process.pid}-${i}`, { adapter: 'memory' });
  const elapsed = timer();
  const result = await local.replicate.from(`http://127.0.0.1:${r.port}/assignments-${i}`, { batch_size: BATCH_SIZE });
  const secs = elapsed();
  if (result.docs_written !== docs.length) {
    throw new Error(`replicated ${result.docs_written} of ${docs.length} assignments`);
  }
  await local.destroy();
  r.close();
  return { secs, up: r.counts && r.counts.up, down: r.counts && r.counts.down };
}

// A technician's evening: the day's events (photos attached) up, the next
// day's assignments down, one timed run.
async function day(events, assignments, port, via) {
  const server = new PouchDB(`http://127.0.0.1:${port}/day-assignments`);
  await fill(server, assignments);
  const r = await route(port, via);
  const local = new PouchDB(`device-day-${process.pid}`, { adapter: 'memory' });
  await fill(local, events);
  const elapsed = timer();
  const up = await local.replicate.to(`http://127.0.0.1:${r.port}/day-visits`, { batch_size: BATCH_SIZE });
  const down = await local.replicate.from(`http://127.0.0.1:${r.port}/day-assignments`, { batch_size: BATCH_SIZE });
  const secs = elapsed();
  if (up.docs_written !== events.length || down.docs_written !== assignments.length) {
    throw new Error(`day: ${up.docs_written}/${events.length} up, ${down.docs_written}/${assignments.length} down`);
  }
  await local.destroy();
  r.close();
  return { secs, up: r.counts && r.counts.up, down: r.counts && r.counts.down };
}

function median(runs) {
  const times = runs.map((r) => r.secs).sort((x, y) => x - y);
  const mid = Math.floor(times.length / 2);
  return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}

async function readVia() {
  return new Promise((resolve) => {
    let buf = '';
    process.stdin.on('data', (d) => {
      buf += d;
      const m = /via (\d+)/.exec(buf);
      if (m) resolve(parseInt(m[1], 10));
    });
  });
}

async function main() {
  const a = args();
  const asDocs = (file) => JSON.parse(fs.readFileSync(file, 'utf8')).map((e) => Object.assign({ _id: String(e.id) }, e));
  const docs = asDocs(a.events);
  const assignments = a.assignments ? asDocs(a.assignments) : [];
  // One server for all iterations (express-pouchdb wraps the PouchDB class it
  // is given, once), a fresh database on it for each.
  const ServerPouch = PouchDB.defaults({ adapter: 'memory' });
  const app = expressPouchDB(ServerPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true });
  const server = http.createServer(app);
  const port = await listen(server);
  let via = null;
  if (a.viaStdin) {
    console.log(`listening ${port}`);
    via = await readVia();
  }
  const versions = {
    pouchdb: require('pouchdb-core/package.json').version,
    express_pouchdb: require('express-pouchdb/package.json').version,
    batch_size: BATCH_SIZE,
  };
  if (a.day) {
    const kib = a.photoKib * 1024;
    for (let k = 0; k < a.photos && k < docs.length; k++) {
      docs[k]._attachments = {
        'photo.jpg': { content_type: 'image/jpeg', data: require('crypto').randomBytes(kib).toString('base64') },
      };
    }
    const r = await day(docs, assignments, port, via);
    console.log(`pouchdb day: ${(r.secs * 1000).toFixed(0)} ms, ${docs.length} events (${a.photos} photos) up, ${assignments.length} assignments down`);
    console.log(JSON.stringify(Object.assign({ day_s: r.secs, bytes_up: r.up, bytes_down: r.down }, versions)));
    return;
  }
  const runs = [];
  for (let i = 0; i < a.iterations; i++) {
    const r = await upload(docs, i, port, via);
    console.log(`pouchdb upload   #${i}: ${(r.secs * 1000).toFixed(0)} ms (${(docs.length / r.secs).toFixed(0)} docs/s), TCP bytes request ${r.up}, response ${r.down}`);
    runs.push(r);
  }
  const downs = [];
  for (let i = 0; assignments.length && i < a.iterations; i++) {
    const r = await download(assignments, i, port, via);
    console.log(`pouchdb download #${i}: ${(r.secs * 1000).toFixed(0)} ms (${(assignments.length / r.secs).toFixed(0)} docs/s), TCP bytes request ${r.up}, response ${r.down}`);
    downs.push(r);
  }
  const times = runs.map((r) => r.secs).sort((x, y) => x - y);
  console.log(JSON.stringify(Object.assign({
    docs: docs.length,
    iterations: runs.length,
    median_s: median(runs),
    min_s: times[0],
    max_s: times[times.length - 1],
    bytes_up: runs[0].up,
    bytes_down: runs[0].down,
    download_docs: assignments.length,
    download_median_s: downs.length ? median(downs) : null,
    download_bytes_up: downs.length ? downs[0].up : null,
    download_bytes_down: downs.length ? downs[0].down : null,
  }, versions)));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
