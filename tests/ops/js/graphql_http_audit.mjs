// Runs graphql-http's GraphQL-over-HTTP audit against a server and prints one JSON line of results.
// usage: node graphql_http_audit.mjs URL [TOKEN]
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const out = [];
for (const r of results) {
  const entry = { id: r.id, name: r.name, status: r.status };
  if (r.status !== 'ok') entry.reason = r.reason;
  out.push(entry);
}
console.log(JSON.stringify(out));
