// Opens several subscriptions on one graphql-ws client (graphql-transport-ws),
// to see how the library reports the server's protocol rules: a socket closed
// for a late connection_init (4408) or a reused id (4409), and an operation
// refused with an error while the socket stays open.
//
// Usage: node subscribe-many-transport-ws.mjs URL QUERY VARIABLES_JSON N [--same-id] [--init-delay=MS]
//
// It subscribes N times with the same query and prints, besides cli.mjs's
// lines, "sub": i (0 to N-1) on each next, error and complete line, and
// {"type":"closed","code":…,"reason":…} when the socket closes. --same-id
// gives every subscription the id "same"; --init-delay holds
// connection_init back for MS milliseconds. It exits 0 when stdin closes
// (or says "close"), 1 once the server closed the socket.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { describe, emit, exit, onControl } from './cli.mjs';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (args.length !== 4) {
  process.stderr.write(`usage: node ${process.argv[1]} URL QUERY VARIABLES_JSON N [--same-id] [--init-delay=MS]\n`);
  process.exit(2);
}
const [url, query, vars, count] = args;
const variables = JSON.parse(vars || '{}');
const n = Number.parseInt(count, 10);
const sameID = flags.includes('--same-id');
const delayFlag = flags.find((f) => f.startsWith('--init-delay='));
const initDelay = delayFlag ? Number.parseInt(delayFlag.split('=')[1], 10) : 0;

let finished = false;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  lazy: false,
  onNonLazyError: () => {},
  ...(sameID ? { generateID: () => 'same' } : {}),
  connectionParams: () => new Promise((resolve) => setTimeout(() => resolve({}), initDelay)),
  on: {
    connected: () => setImmediate(() => emit({ type: 'ready' })),
    closed: (event) => {
      if (finished) return;
      finished = true;
      emit({ type: 'closed', code: event.code, reason: event.reason });
      client.dispose();
      exit(1);
    },
  },
});

for (let i = 0; i < n; i++) {
  client.subscribe(
    { query, variables },
    {
      next: (payload) => emit({ type: 'next', sub: i, payload }),
      error: (err) => emit({ type: 'error', sub: i, error: describe(err) }),
      complete: () => emit({ type: 'complete', sub: i }),
    },
  );
}

onControl({
  unsubscribe: () => {},
  close: async () => {
    if (finished) return;
    finished = true;
    await client.dispose();
    exit(0);
  },
});
