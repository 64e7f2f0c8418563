// Subscribes over server-sent events with graphql-sse, the protocol's
// reference client, in either of its modes. See cli.mjs for arguments and
// output; subscribe-sse.mjs and subscribe-sse-single.mjs pick the mode.
//
// CLIENT_HEADERS (a JSON object, in the environment) is sent with every
// request: the credential of a gateway that requires one.

import { createClient } from 'graphql-sse';
import { describe, emit, exit, onControl, parseArgs } from './cli.mjs';

export function run(singleConnection) {
  const { url, query, variables, n, control } = parseArgs(process.argv.slice(2));
  const headers = JSON.parse(process.env.CLIENT_HEADERS || '{}');

  let finished = false;
  let unsubscribed = false;
  let events = 0;
  let sawErrors = false;

  // The gateway answers an operation's request once it has subscribed: its
  // stream's headers (distinct connections), or 202 Accepted (single
  // connection).
  const fetchFn = async (input, init) => {
    const res = await fetch(input, init);
    const subscribing = singleConnection ? init?.method === 'POST' && res.status === 202 : res.ok && init?.method === 'POST';
    if (subscribing) emit({ type: 'ready' });
    return res;
  };

  const client = createClient({
    url,
    headers,
    singleConnection,
    fetchFn,
    retryAttempts: 0,
    onNonLazyError: (err) => {
      emit({ type: 'error', error: describe(err) });
      finish(1);
    },
  });

  async function finish(code) {
    if (finished) return;
    finished = true;
    client.dispose();
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
      close: () => {
        if (finished) return;
        finished = true;
        client.dispose();
        emit({ type: 'closed' });
        exit(0);
      },
    });
  }
}
