// Runs the lobby's documents through Apollo Client with the persisted
// queries link reading ids from a manifest that
// @apollo/generate-persisted-query-manifest wrote, as a front end facing a
// gateway with trusted documents does, and one document of its own with a
// plain link, for server/limits_trusted_test.go to read what an application sees.
//
// Usage: node apollo-trusted.mjs URL MANIFEST
//
// It prints one JSON line per document:
//
//   {"type":"result","operation":"LobbyCountries","data":{...}}
//   {"type":"error","operation":"Rogue","error":{...}}
//
// and exits 0 once all are done, 2 on bad usage.

import { readFileSync, readdirSync } from 'node:fs';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { describe, emit, exit } from './cli.mjs';

const [url, manifestPath] = process.argv.slice(2);
if (!url || !manifestPath) {
  process.stderr.write('usage: node apollo-trusted.mjs URL MANIFEST\n');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const dir = new URL('./trusted/', import.meta.url);
const documents = readdirSync(dir)
  .filter((f) => f.endsWith('.graphql'))
  .sort()
  .map((f) => readFileSync(new URL(f, dir), 'utf8'));

const trusted = new ApolloClient({
  link: new PersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest })).concat(
    new HttpLink({ uri: url }),
  ),
  cache: new InMemoryCache(),
});
const plain = new ApolloClient({ link: new HttpLink({ uri: url }), cache: new InMemoryCache() });

const run = async (client, operation, query) => {
  try {
    const result = await client.query({ query: typeof query === 'string' ? gql(query) : query, fetchPolicy: 'network-only' });
    if (result.error) {
      emit({ type: 'error', operation, error: describe(result.error) });
    } else {
      emit({ type: 'result', operation, data: result.data });
    }
  } catch (err) {
    emit({ type: 'error', operation, error: describe(err) });
  }
};

for (const text of documents) {
  const doc = gql(text);
  await run(trusted, doc.definitions[0].name.value, doc);
}
await run(plain, 'Rogue', 'query Rogue { regions { name } }');
trusted.stop();
plain.stop();
exit(0);
