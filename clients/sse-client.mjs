// Subscribes over server-sent events with graphql-sse, the protocol's
// reference client, in either of its modes. See cli.mjs for arguments and
// output; subscribe-sse.mjs and subscribe-sse-single.mjs pick the mode.
//
// CLIENT_HEADERS (a JSON object, in the environment) is sent with every
// request: the credential of a gateway that requires one.

import { createClient } from 'graphql-sse';
import { describe, emit, follow, parseArgs } from './cli.mjs';

export function run(singleConnection) {
  const args = parseArgs(process.argv.slice(2));
  const headers = JSON.parse(process.env.CLIENT_HEADERS || '{}');

  // The gateway answers an operation's request once it has subscribed: its
  // stream's headers (distinct connections), or 202 Accepted (single
  // connection).
  const fetchFn = async (input, init) => {
    const res = await fetch(input, init);
    const subscribing = singleConnection ? init?.method === 'POST' && res.status === 202 : res.ok && init?.method === 'POST';
    if (subscribing) emit({ type: 'ready' });
    return res;
  };

  // Set once the client exists; its callbacks run later.
  let follower;
  const client = createClient({
    url: args.url,
    headers,
    singleConnection,
    fetchFn,
    retryAttempts: 0,
    onNonLazyError: (err) => {
      emit({ type: 'error', error: describe(err) });
      follower.finish(1);
    },
  });
  follower = follow(client, args);
}
