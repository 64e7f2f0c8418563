// The command line and output shared by the subscription clients.
//
// Usage: node <script> URL QUERY VARIABLES_JSON N [--control]
//
// A client prints one JSON line per thing that happens, for
// server/live_subscription_test.go to read:
//
//   {"type":"ready"}                   connected, acknowledged and subscribed
//   {"type":"next","payload":{...}}    one event (data and/or errors)
//   {"type":"ping"}                    a server keep-alive ping (where the library tells)
//   {"type":"error","error":{...}}     the subscription or connection failed
//   {"type":"complete"}                the server completed the subscription
//   {"type":"unsubscribed"}            the client unsubscribed (--control)
//   {"type":"closed"}                  the client closed its connection (--control)
//
// It exits 0 after N events (N > 0), closing its connection cleanly; 1 on an
// error, an unexpected disconnect, or after N events of which one carried
// GraphQL errors (gqlgen reports a failed subscription as an event with
// errors, then completes it); 2 on bad usage; 3 when the server completed
// the subscription before N events.
//
// With --control it also obeys lines on stdin: "unsubscribe" ends the
// subscription but keeps the connection, "close" (or the end of stdin)
// closes the connection and exits 0.

import { createInterface } from 'node:readline';

export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

export function parseArgs(argv) {
  const control = argv.includes('--control');
  const args = argv.filter((a) => a !== '--control');
  if (args.length !== 4) {
    usage(`want 4 arguments, got ${args.length}`);
  }
  const [url, query, vars, n] = args;
  let variables;
  try {
    variables = JSON.parse(vars || '{}');
  } catch (err) {
    usage(`VARIABLES_JSON: ${err.message}`);
  }
  const count = Number.parseInt(n, 10);
  if (!Number.isInteger(count) || count < 0) {
    usage(`N must be a non-negative integer, got ${n}`);
  }
  if (count === 0 && !control) {
    usage('N is 0: nothing would end the client; pass --control');
  }
  return { url, query, variables, n: count, control };
}

function usage(msg) {
  process.stderr.write(`usage: node ${process.argv[1]} URL QUERY VARIABLES_JSON N [--control]: ${msg}\n`);
  process.exit(2);
}

// describe turns what a client library reports as an error (an Error, a
// websocket close event, a list of GraphQL errors) into plain JSON.
export function describe(err) {
  if (Array.isArray(err)) {
    return { errors: err.map((e) => describe(e)) };
  }
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    return { message: `connection closed: ${err.code} ${err.reason}`, code: err.code, reason: err.reason };
  }
  if (err instanceof Error) {
    return { message: err.message };
  }
  if (err && typeof err === 'object') {
    return { ...err, message: err.message ?? JSON.stringify(err) };
  }
  return { message: String(err) };
}

// onControl calls handlers for the lines of stdin, and close at its end.
export function onControl({ unsubscribe, close }) {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'unsubscribe') {
      unsubscribe();
    } else if (cmd === 'close') {
      rl.close();
    } else if (cmd !== '') {
      process.stderr.write(`unknown control line: ${cmd}\n`);
    }
  });
  rl.on('close', close);
}

// exit ends the process once stdout has taken everything written to it.
export function exit(code) {
  process.stdout.write('', () => process.exit(code));
}

// follow subscribes to the operation through client, a client of the shape
// graphql-ws and graphql-sse share (subscribe(request, sink) returns an
// unsubscribe function; dispose() closes the connection and may return a
// promise), prints what happens and exits as the usage above says. It
// returns finish(code), which disposes of the client and exits (once), and
// finished(), for the library's own error and close callbacks.
export function follow(client, { query, variables, n, control }) {
  let done = false;
  let unsubscribed = false;
  let events = 0;
  // An event whose payload carries GraphQL errors still counts as an
  // event, but makes the exit code 1.
  let sawErrors = false;

  async function finish(code) {
    if (done) return;
    done = true;
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
        if (done) return;
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
        if (done) return;
        done = true;
        await client.dispose();
        emit({ type: 'closed' });
        exit(0);
      },
    });
  }
  return { finish, finished: () => done };
}
