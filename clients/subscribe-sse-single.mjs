// Subscribes with graphql-sse in its single-connection mode: a reserved
// event stream that carries every operation's events. See sse-client.mjs.

import { run } from './sse-client.mjs';

run(true);
