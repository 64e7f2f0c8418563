// Subscribes through the legacy graphql-ws protocol with
// subscriptions-transport-ws, the client Apollo shipped for it. See cli.mjs
// for arguments and output. The library tells nothing of keep-alive ("ka")
// messages, so this client never prints "ping".

import subscriptions from 'subscriptions-transport-ws';
import WebSocket from 'ws';
import { describe, emit, exit, onControl, parseArgs } from './cli.mjs';

const { SubscriptionClient } = subscriptions;
const { url, query, variables, n, control } = parseArgs(process.argv.slice(2));

let finished = false;
let events = 0;
// An event whose payload carries GraphQL errors still counts as an event,
// but makes the exit code 1.
let sawErrors = false;

const client = new SubscriptionClient(
  url,
  {
    reconnect: false,
    // Called on connection_ack (or connection_error). The start message was
    // queued behind connection_init, so it has gone out by now.
    connectionCallback: (err) => {
      if (err) {
        emit({ type: 'error', error: describe(err) });
        finish(1);
        return;
      }
      emit({ type: 'ready' });
    },
  },
  WebSocket,
);

client.onDisconnected(() => {
  if (!finished) {
    emit({ type: 'error', error: { message: 'disconnected' } });
    finish(1);
  }
});

function finish(code) {
  if (finished) return;
  finished = true;
  client.close();
  exit(code === 0 && sawErrors ? 1 : code);
}

const subscription = client.request({ query, variables }).subscribe({
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
    if (finished) return;
    emit({ type: 'complete' });
    finish(events >= n && n > 0 ? 0 : 3);
  },
});

if (control) {
  onControl({
    unsubscribe: () => {
      // Sends "stop"; the library calls no observer for it.
      subscription.unsubscribe();
      emit({ type: 'unsubscribed' });
    },
    close: () => {
      if (finished) return;
      finished = true;
      client.close();
      emit({ type: 'closed' });
      exit(0);
    },
  });
}
