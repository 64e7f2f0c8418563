// Subscribes through the graphql-transport-ws protocol with graphql-ws, the
// protocol's reference client. See cli.mjs for arguments and output.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { describe, emit, exit, onControl, parseArgs } from './cli.mjs';

const { url, query, variables, n, control } = parseArgs(process.argv.slice(2));

let finished = false;
let unsubscribed = false;
let events = 0;
// An event whose payload carries GraphQL errors still counts as an event,
// but makes the exit code 1.
let sawErrors = false;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  // Connect at once and stay connected until disposed: lazily, the client
  // would close the socket as soon as the subscription ends, and
  // "unsubscribe" is meant to leave the connection open.
  lazy: false,
  onNonLazyError: (err) => {
    emit({ type: 'error', error: describe(err) });
    finish(1);
  },
  on: {
    // The subscribe message goes out right after the acknowledgement; a
    // macrotask later it has been sent.
    connected: () => setImmediate(() => emit({ type: 'ready' })),
    ping: (received) => {
      if (received) emit({ type: 'ping' });
    },
    closed: (event) => {
      if (!finished) {
        emit({ type: 'error', error: describe(event) });
        finish(1);
      }
    },
  },
});

async function finish(code) {
  if (finished) return;
  finished = true;
  await client.dispose();
  exit(code === 0 && sawErrors ? 1 : code);
}

const unsubscribe = client.subscribe(
  { query, variables },
  {
    next: (payload) => {
      emit({ type: 'next', payload });
      if (payload?.errors?.length) sawErrors = true;
      events++;
      if (n > 0 && events >= n) finish(0);
    },
    error: (err) => {
      emit({ type: 'error', error: describe(err) });
      finish(1);
    },
    complete: () => {
      if (unsubscribed) {
        emit({ type: 'unsubscribed' });
        return;
      }
      if (finished) return;
      emit({ type: 'complete' });
      finish(events >= n && n > 0 ? 0 : 3);
    },
  },
);

if (control) {
  onControl({
    unsubscribe: () => {
      unsubscribed = true;
      unsubscribe();
    },
    close: async () => {
      if (finished) return;
      finished = true;
      await client.dispose();
      emit({ type: 'closed' });
      exit(0);
    },
  });
}
