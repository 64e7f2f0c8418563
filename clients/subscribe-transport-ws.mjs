// Subscribes through the graphql-transport-ws protocol with graphql-ws, the
// protocol's reference client. See cli.mjs for arguments and output.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { describe, emit, follow, parseArgs } from './cli.mjs';

const args = parseArgs(process.argv.slice(2));

// Set once the client exists; its callbacks run later.
let follower;

const client = createClient({
  url: args.url,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  // Connect at once and stay connected until disposed: lazily, the client
  // would close the socket as soon as the subscription ends, and
  // "unsubscribe" is meant to leave the connection open.
  lazy: false,
  onNonLazyError: (err) => {
    emit({ type: 'error', error: describe(err) });
    follower.finish(1);
  },
  on: {
    // The subscribe message goes out right after the acknowledgement; a
    // macrotask later it has been sent.
    connected: () => setImmediate(() => emit({ type: 'ready' })),
    ping: (received) => {
      if (received) emit({ type: 'ping' });
    },
    closed: (event) => {
      if (!follower.finished()) {
        emit({ type: 'error', error: describe(event) });
        follower.finish(1);
      }
    },
  },
});

follower = follow(client, args);
