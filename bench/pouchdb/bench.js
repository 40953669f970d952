// PouchDB baseline for the Doorstep sync benchmark (docs/PERFORMANCE.md,
// "Sync"; DESIGN.md budgets: Doorstep's upload ≥ 5× faster than PouchDB →
// pouchdb-server on the same data, with ≤ 1/3 of its bytes on the wire).
//
// The same events the Rust bench uploads (`sync-bench --export FILE`: a JSON
// array of visit events in outbox order) become one document each
// (`_id` = the event id) in a local in-memory PouchDB (not timed: that is
// the device's pre-filled store); then a one-off replication to an
// express-pouchdb server (the server part of pouchdb-server, in memory) on
// loopback is timed. A tiny TCP proxy between the two counts the bytes each
// way (HTTP headers and bodies, as they are on the wire).
//
// Usage: node bench.js --events FILE [--iterations 3]
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

function args() {
  const a = { events: null, iterations: 3 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--events') { a.events = v; i++; }
    else if (argv[i] === '--iterations') { a.iterations = Math.max(1, parseInt(v, 10)); i++; }
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

async function once(docs, i, port) {
  const proxy = countingProxy(port);
  const proxyPort = await listen(proxy);

  const local = new PouchDB(`device-${process.pid}-${i}`, { adapter: 'memory' });
  for (let k = 0; k < docs.length; k += 1000) {
    await local.bulkDocs(docs.slice(k, k + 1000));
  }
  const remoteUrl = `http://127.0.0.1:${proxyPort}/visits-${i}`;
  const started = process.hrtime.bigint();
  const result = await local.replicate.to(remoteUrl);
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const { up, down } = proxy.counts;
  const remote = new PouchDB(`http://127.0.0.1:${port}/visits-${i}`);
  const info = await remote.info();
  if (result.docs_written !== docs.length || info.doc_count !== docs.length) {
    throw new Error(`replicated ${result.docs_written}, server holds ${info.doc_count}, expected ${docs.length}`);
  }
  await local.destroy();
  proxy.closeAll();
  return { secs, up, down };
}

async function main() {
  const a = args();
  const events = JSON.parse(fs.readFileSync(a.events, 'utf8'));
  const docs = events.map((e) => Object.assign({ _id: String(e.id) }, e));
  // One server for all iterations (express-pouchdb wraps the PouchDB class it
  // is given, once), a fresh database on it for each.
  const ServerPouch = PouchDB.defaults({ adapter: 'memory' });
  const app = expressPouchDB(ServerPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true });
  const server = http.createServer(app);
  const port = await listen(server);
  const runs = [];
  for (let i = 0; i < a.iterations; i++) {
    const r = await once(docs, i, port);
    console.log(`pouchdb  #${i}: ${(r.secs * 1000).toFixed(0)} ms (${(docs.length / r.secs).toFixed(0)} docs/s), TCP bytes request ${r.up}, response ${r.down}`);
    runs.push(r);
  }
  const times = runs.map((r) => r.secs).sort((x, y) => x - y);
  const mid = Math.floor(times.length / 2);
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  console.log(JSON.stringify({
    docs: docs.length,
    iterations: runs.length,
    median_s: median,
    min_s: times[0],
    max_s: times[times.length - 1],
    bytes_up: runs[0].up,
    bytes_down: runs[0].down,
    pouchdb: require('pouchdb-core/package.json').version,
    express_pouchdb: require('express-pouchdb/package.json').version,
  }));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
