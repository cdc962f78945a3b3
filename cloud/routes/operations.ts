// Operations routes: /healthz (the process answers: always 200), /readyz (200 only when the
// storage answers, so a load balancer sends no batches to an instance that would 503 them) and
// /metrics (Prometheus text). They bypass @fastify/under-pressure: a busy instance is still alive.
import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import type { IngestMetrics } from "../metrics.js";
import type { Writer } from "../storage/writer.js";

const Health = Type.Object({ status: Type.String(), storage: Type.Optional(Type.String()) });
const noPressure = { pressureHandler: () => null };

export async function operationRoutes(app: FastifyInstance, options: { writer: Writer; metrics: IngestMetrics }): Promise<void> {
  app.get("/healthz", { schema: { response: { 200: Health } }, config: noPressure }, async () => ({ status: "ok" }));

  app.get("/readyz", { schema: { response: { 200: Health, 503: Health } }, config: noPressure }, async (_request, reply) => {
    const ready = await options.writer.ping();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "storage unavailable", storage: options.writer.kind });
  });

  app.get("/metrics", { config: noPressure }, async (_request, reply) => {
    return reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
}
