// Runs graphql-http's server audits (the GraphQL over HTTP spec's checks)
// against a GraphQL endpoint and prints their results as one JSON document,
// for server/api_conformance_test.go to read.
//
// Usage: node audit-http.mjs URL [HEADERS_JSON]
//
// HEADERS_JSON (an object) is added to every request the audits make: the
// credential of a gateway that requires one. The output is
//
//   {"counts":{"ok":N,"warn":N,"error":N,"notice":N},
//    "results":[{"id":"22EB","name":"SHOULD ...","status":"ok"},
//               {"id":"...","name":"...","status":"warn","reason":"...","response":{"status":422,"body":"..."}}]}
//
// It exits 0 when every audit is ok, 1 when any is not, 2 on bad usage.

import { serverAudits } from 'graphql-http';

const [url, rawHeaders] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node audit-http.mjs URL [HEADERS_JSON]\n');
  process.exit(2);
}
let extra = {};
try {
  extra = JSON.parse(rawHeaders || '{}');
} catch (err) {
  process.stderr.write(`HEADERS_JSON: ${err.message}\n`);
  process.exit(2);
}

// The audits' own headers win over the extra ones: they are what is tested.
const fetchFn = (input, init = {}) => fetch(input, { ...init, headers: { ...extra, ...(init.headers ?? {}) } });

const counts = { ok: 0, warn: 0, error: 0, notice: 0 };
const results = [];
for (const { fn } of serverAudits({ url, fetchFn })) {
  const r = await fn();
  counts[r.status] = (counts[r.status] ?? 0) + 1;
  const out = { id: r.id, name: r.name, status: r.status };
  if (r.status !== 'ok') {
    out.reason = r.reason;
    // The body may already have been read by the audit.
    let body = '';
    try {
      body = await r.response.clone().text();
    } catch {
      body = '(already read)';
    }
    out.response = { status: r.response.status, contentType: r.response.headers.get('content-type'), body: body.slice(0, 500) };
  }
  results.push(out);
}
process.stdout.write(JSON.stringify({ counts, results }) + '\n');
process.stdout.write('', () => process.exit(counts.ok === results.length ? 0 : 1));
