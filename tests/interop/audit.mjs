// The GraphQL-over-HTTP conformance audits of the `graphql-http` reference implementation, run
// against a live server. Every audit must come back 'ok': 'error' is a failed MUST, 'warn' a
// failed SHOULD, 'notice' a failed MAY.
//
// usage: node audit.mjs <graphql-url>
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql-url>');
  process.exit(2);
}

const audits = serverAudits({ url, fetchFn: fetch });
const results = await Promise.all(
  audits.map(async (audit) => {
    try {
      return await audit.fn();
    } catch (err) {
      // An audit throws only on a fatal problem (say, the server is unreachable).
      return { id: audit.id, name: audit.name, status: 'error', reason: `threw: ${err?.stack ?? err}` };
    }
  }),
);

let failed = 0;
for (const r of results) {
  if (r.status === 'ok') {
    console.log(`ok     ${r.id} ${r.name}`);
  } else {
    failed++;
    let body = '';
    if (r.response) {
      // The reason alone rarely shows what the server sent; the status and body do.
      try {
        body = ` [HTTP ${r.response.status} ${r.response.headers.get('content-type') ?? '-'}: ${(await r.response.text()).slice(0, 300)}]`;
      } catch {
        body = ` [HTTP ${r.response.status}]`;
      }
    }
    console.log(`${r.status.padEnd(6)} ${r.id} ${r.name}: ${r.reason}${body}`);
  }
}
console.log(`${results.length - failed}/${results.length} audits ok`);
process.exit(failed ? 1 : 0);
