// Verifies one received webhook with the reference JavaScript library of
// Standard Webhooks. Usage: node verify.js <case.json>, where the file holds
// {"secret": "whsec_...", "headers": {...}, "body_base64": "...", "now": 123}.
// "now" (Unix seconds, optional) replaces the clock for the library's
// five-minute timestamp check, for fixed test vectors. Prints one JSON line,
// {"ok": true} or {"ok": false, "error": "..."}, and exits 0 either way; a
// crash exits non-zero.
"use strict";
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const c = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
if (typeof c.now === "number") {
  Date.now = () => c.now * 1000;
}
const body = Buffer.from(c.body_base64, "base64");
let out;
try {
  new Webhook(c.secret).verify(body, c.headers, { jsonParse: false });
  out = { ok: true };
} catch (e) {
  out = { ok: false, error: String(e && e.message ? e.message : e) };
}
process.stdout.write(JSON.stringify(out) + "\n");
