// Subscribes with graphql-sse in its distinct-connections mode: one event
// stream per operation. See sse-client.mjs.

import { run } from './sse-client.mjs';

run(false);
