// PostGraphile v5 over the database bench/peers.py seeded, configured as its docs advise for production.
//
//   node_modules/.bin/node server.mjs <postgres-url> <port>
//
// Run with NODE_ENV=production (bench/peers.py sets it): Grafast's development mode plans far slower.
// Amber preset (relations from the foreign keys: Route.userByDriverId, vehicleByVehicleId, stopsByRouteId),
// no GraphiQL, no watch mode, no websockets, no explain; the pg pool at its default of 10 connections,
// the size of Switchboard's SQLAlchemy pool.
import { createServer } from "node:http";

import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const [connectionString, port] = process.argv.slice(2);
if (!connectionString || !port) {
  console.error("usage: node server.mjs <postgres-url> <port>");
  process.exit(2);
}

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString, schemas: ["public"], pubsub: false })],
  grafserv: { port: Number(port), graphiql: false, watch: false, websockets: false, outputDataAsString: true },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
await serv.addTo(server);
await pgl.getSchema(); // introspect before listening: the port opens once queries can be answered
server.listen(Number(port), "127.0.0.1", () => console.log(`PostGraphile v5 on http://127.0.0.1:${port}/graphql`));

const stop = async () => {
  server.close();
  await pgl.release();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
