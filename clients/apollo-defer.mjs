// Runs one query through Apollo Client, which merges @defer's incremental
// payloads itself, for server/api_defer_test.go to read what an application sees.
//
// Usage: node apollo-defer.mjs URL QUERY VARIABLES_JSON LINK [HEADERS_JSON]
//
// LINK is "http" (HttpLink, which asks for multipart/mixed when the query has
// @defer) or "ws" (GraphQLWsLink over graphql-transport-ws, with graphql-ws;
// URL is then the ws:// address). HEADERS_JSON is sent with every HTTP
// request, or as connection_init's payload over the websocket.
//
// It prints one JSON line per result the client hands the application:
//
//   {"type":"result","dataState":"streaming","data":{...}}   deferred parts still to come
//   {"type":"result","dataState":"complete","data":{...}}    everything has arrived
//   {"type":"error","error":{...}}                            the query failed
//
// and exits 0 after the complete result, 1 on an error, 2 on bad usage.

import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { describe, emit, exit } from './cli.mjs';

const [url, query, rawVars, kind, rawHeaders] = process.argv.slice(2);
if (!url || !query || !['http', 'ws'].includes(kind)) {
  process.stderr.write('usage: node apollo-defer.mjs URL QUERY VARIABLES_JSON http|ws [HEADERS_JSON]\n');
  process.exit(2);
}
let variables, headers;
try {
  variables = JSON.parse(rawVars || '{}');
  headers = JSON.parse(rawHeaders || '{}');
} catch (err) {
  process.stderr.write(`bad JSON argument: ${err.message}\n`);
  process.exit(2);
}

let ws;
const link =
  kind === 'http'
    ? new HttpLink({ uri: url, headers })
    : new GraphQLWsLink((ws = createClient({ url, webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0 })));

const client = new ApolloClient({
  link,
  cache: new InMemoryCache(),
  incrementalHandler: new Defer20220824Handler(),
});

const finish = async (code) => {
  client.stop();
  await ws?.dispose();
  exit(code);
};

client
  .watchQuery({ query: gql(query), variables, fetchPolicy: 'network-only' })
  .subscribe({
    next(result) {
      if (result.error) {
        emit({ type: 'error', error: describe(result.error) });
        finish(1);
        return;
      }
      if (result.dataState !== 'streaming' && result.dataState !== 'complete') {
        return; // the loading state before any payload
      }
      emit({ type: 'result', dataState: result.dataState, data: result.data });
      if (result.dataState === 'complete') {
        finish(0);
      }
    },
    error(err) {
      emit({ type: 'error', error: describe(err) });
      finish(1);
    },
  });
