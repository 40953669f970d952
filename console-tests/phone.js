// The technician's phone in the browser tests: the `doorstep` CLI (the real
// device store and sync client), found next to the server binary or at
// DOORSTEP_CLI_BIN.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const CLI_BIN = path.resolve(__dirname, process.env.DOORSTEP_CLI_BIN
  || (process.env.DOORSTEP_SERVER_BIN ? path.join(path.dirname(process.env.DOORSTEP_SERVER_BIN), "doorstep") : "../target/debug/doorstep"));

/** Fails the suite at once, saying how to build it, when the CLI is missing. */
function assertPhoneCli() {
  if (!fs.existsSync(CLI_BIN)) throw new Error(`no device CLI at ${CLI_BIN}: cargo build -p doorstep-cli, or set DOORSTEP_CLI_BIN`);
}

/** Runs the phone whose store is `db`; its JSON output (or its text). */
function runPhone(db, ...args) {
  const out = execFileSync(CLI_BIN, ["device", "--db", db, "--lang", "en", ...args],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  try { return JSON.parse(out); } catch (e) { return out; }
}

/**
 * Enrols the phone `run` drives (a `runPhone` of its store) as 孙浩's
 * device `device` on `server`, with the dispatcher zhang.wei's login;
 * `name` is the technician's name the phone keeps.
 */
function enrolSunsPhone(run, device, server, name = "孙浩") {
  const { PASSWORD } = require("./desk");
  return run("enrol", "--device-id", device, "--technician-id", "T-sun", "--name", name,
    "--server", server.url.replace(/\/$/, ""), "--dispatcher", "zhang.wei", "--password", PASSWORD);
}

module.exports = { CLI_BIN, assertPhoneCli, runPhone, enrolSunsPhone };
