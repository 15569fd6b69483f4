// The reference graphql-transport-ws client (`graphql-ws`) against a live server: it must be
// able to authenticate, subscribe, query over the same socket, complete and close cleanly, and
// it must see a bad token refused with close code 4403 (Forbidden).
//
// usage: node graphql-ws.mjs <ws-url> <token> <ballot-id>
//   <token>     a token that may watch the ballot's progress
//   <ballot-id> a ballot whose `ballotProgress` sends its current figures at once
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, ballotId] = process.argv.slice(2);
if (!url || !token || !ballotId) {
  console.error('usage: node graphql-ws.mjs <ws-url> <token> <ballot-id>');
  process.exit(2);
}

function fail(reason) {
  console.error(`FAIL: ${reason}`);
  process.exit(1);
}

// Nothing here may hang the Rust test that runs it.
setTimeout(() => fail('timed out after 30 s'), 30_000).unref();

function withTimeout(promise, what, ms = 10_000) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function describe(value) {
  if (value && typeof value === 'object' && 'code' in value && 'reason' in value) {
    return `close ${value.code} ${JSON.stringify(value.reason)}`;
  }
  if (value instanceof Error) return value.stack ?? String(value);
  return JSON.stringify(value);
}

// The client with its lifecycle events recorded, so failures can say what the server did.
function connect(authorization) {
  const events = [];
  let closed;
  const closedEvent = new Promise((resolve) => (closed = resolve));
  let connected;
  const ack = new Promise((resolve) => (connected = resolve));
  let nonLazyError;
  const refused = new Promise((resolve) => (nonLazyError = resolve));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: (err) => {
      events.push(`nonLazyError: ${describe(err)}`);
      nonLazyError(err);
    },
    on: {
      connected: (_socket, payload) => {
        events.push(`connected ${JSON.stringify(payload ?? null)}`);
        connected(payload);
      },
      closed: (event) => {
        events.push(`closed: ${describe(event)}`);
        closed(event);
      },
      error: (err) => events.push(`error: ${describe(err)}`),
    },
  });
  return { client, events, ack, closedEvent, refused };
}

// A failed step is reported and the rest still run, so one run shows every problem.
const failures = [];
async function step(name, fn, events) {
  try {
    await fn();
    console.log(`ok   ${name}`);
    return true;
  } catch (err) {
    failures.push(name);
    console.log(`FAIL ${name}: ${err?.message ?? describe(err)}\n  client events: ${events.join(' | ') || 'none'}`);
    return false;
  }
}

// (a) and (b): one authenticated connection; a subscription, then a query on the same socket.
{
  const { client, events, ack, closedEvent } = connect(`Bearer ${token}`);
  const acked = await step('connection_init is acknowledged', () => withTimeout(
    Promise.race([ack, closedEvent.then((e) => { throw new Error(`closed before the ack: ${describe(e)}`); })]),
    'connection_ack',
  ), events);
  if (!acked) fail('nothing more to try without a connection');

  await step('subscription delivers its first event', async () => {
    const iterator = client.iterate({
      query: 'subscription($id: ID!) { ballotProgress(ballotId: $id) { participatingVoters quorumMet } }',
      variables: { id: ballotId },
    });
    const first = await withTimeout(iterator.next(), "subscription's first next");
    if (first.done) throw new Error('the subscription completed without a next message');
    const result = first.value;
    if (result.errors) throw new Error(`next carried errors: ${JSON.stringify(result.errors)}`);
    if (!result.data?.ballotProgress || typeof result.data.ballotProgress.quorumMet !== 'boolean') {
      throw new Error(`unexpected next payload: ${JSON.stringify(result)}`);
    }
    // Breaking off sends `complete` for the subscription.
    await iterator.return();
  }, events);

  await step('query runs on the same socket after complete', async () => {
    const result = await withTimeout(
      (async () => {
        let last;
        for await (const r of client.iterate({ query: '{ __typename viewer { role } }' })) last = r;
        return last;
      })(),
      'query result',
    );
    if (!result) throw new Error('the query completed without a result');
    if (result.errors) throw new Error(`query errors: ${JSON.stringify(result.errors)}`);
    if (typeof result.data?.viewer?.role !== 'string') {
      throw new Error(`unexpected query result: ${JSON.stringify(result)}`);
    }
  }, events);

  await step('the socket closes normally (1000)', async () => {
    await client.dispose();
    const event = await withTimeout(closedEvent, 'close');
    if (event.code !== 1000) throw new Error(`closed with ${describe(event)}`);
    if (events.some((e) => e.startsWith('error') || e.startsWith('nonLazyError'))) {
      throw new Error('the client reported an error');
    }
  }, events);
}

// (c) A bad token: the server must close with 4403 Forbidden and never acknowledge.
{
  const { client, events, closedEvent, refused } = connect('Bearer not-a-valid-token');
  await step('a bad token is refused with 4403', async () => {
    const event = await withTimeout(closedEvent, 'close');
    if (event.code !== 4403) throw new Error(`expected close 4403, got ${describe(event)}`);
    if (events.some((e) => e.startsWith('connected'))) throw new Error('the server acknowledged a bad token');
    // With retries off, the client gives the close to onNonLazyError as fatal.
    const err = await withTimeout(refused, 'onNonLazyError');
    if (err?.code !== 4403) throw new Error(`onNonLazyError got ${describe(err)}`);
  }, events);
  await client.dispose();
}

if (failures.length) fail(`${failures.length} step(s) failed: ${failures.join('; ')}`);
console.log('graphql-ws interop ok');
process.exit(0);
