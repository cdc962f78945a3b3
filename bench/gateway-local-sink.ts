// The local sink of `npm run bench:gateway`, in its own process so it does not share the
// gateway's event loop: it decodes each batch (CBOR, gzip) and replies that every record was
// stored, like an ingest service with an instant database. Prints its URL on stdout.
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import type { BatchReply } from "../protocol/batch.js";
import { cborDecoder, cborEncoder } from "../protocol/schema/validate.js";

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    let body = Buffer.concat(chunks);
    if (request.headers["content-encoding"] === "gzip") body = gunzipSync(body);
    const batch = cborDecoder.decode(body) as { id: string; recs: Array<{ id: number }> };
    const reply: BatchReply = { id: batch.id, stored: batch.recs.map((record) => record.id), rejected: [] };
    response.writeHead(200, { "content-type": "application/cbor" }).end(cborEncoder.encode(reply));
  });
});
server.listen(0, "127.0.0.1", () => console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/batches`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
