// The fleet service as a Fastify app (issue 16): build(options) assembles it, `vibewatch fleet`
// listens. Layout: config-schema.ts, errors.ts (the catalog), fleet-auth.ts (operator and gateway
// tokens), storage/ (one repository over SQLite or PostgreSQL, versioned migrations), fleet-view.ts
// (inventory with desired versions and drift), routes.ts, fleet-metrics.ts.
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import type { DestinationStream } from "pino";
import type { FleetConfig } from "./config-schema.js";
import { errorBody, FleetError } from "./errors.js";
import { FleetAuth } from "./fleet-auth.js";
import { FleetMetrics } from "./fleet-metrics.js";
import { FleetView } from "./fleet-view.js";
import { fleetRoutes } from "./routes.js";
import { releaseRoutes } from "./release-routes.js";
import { RolloutService } from "./rollout/rollout-service.js";
import { readFileSync } from "node:fs";
import { FleetRepository } from "./storage/fleet-repository.js";
import { SqliteDatabase } from "./storage/sqlite-database.js";
import { PostgresDatabase } from "./storage/postgres-database.js";
import type { SqlDatabase } from "./storage/sql-database.js";

export interface FleetBuildOptions {
  config: FleetConfig;
  logStream?: DestinationStream;
  defaultMetrics?: boolean;
}

/** where the embedded default keeps the fleet, relative to the working directory */
export const DEFAULT_SQLITE_PATH = "vibewatch-fleet.sqlite";

export function openDatabase(storage: FleetConfig["storage"]): SqlDatabase {
  return storage.type === "postgres" ? new PostgresDatabase(storage.url, storage.maxConnections ?? 5) : new SqliteDatabase(storage.path ?? DEFAULT_SQLITE_PATH);
}

export type FleetApp = FastifyInstance & { repo: FleetRepository; rollouts: RolloutService };

export async function buildFleetApp(options: FleetBuildOptions): Promise<FleetApp> {
  const { config } = options;
  const repo = await FleetRepository.open(openDatabase(config.storage));
  const view = new FleetView(repo, config.offlineAfterS * 1000);
  const metrics = new FleetMetrics(view, options.defaultMetrics ?? false);
  const app = Fastify({
    logger: { level: config.logLevel, redact: ["req.headers.authorization", "*.tokenHash", "storage.url"], ...(options.logStream ? { stream: options.logStream } : {}) },
    bodyLimit: 4 * 1024 * 1024,
  });
  app.setErrorHandler((error: FastifyError | FleetError, request, reply) => {
    let body;
    if (error instanceof FleetError) body = errorBody(error.statusCode, error.code, error.message);
    else if ((error as FastifyError).validation) body = errorBody(400, "VW_SCHEMA", error.message);
    else if ((error as FastifyError).statusCode && (error as FastifyError).statusCode! < 500) body = errorBody((error as FastifyError).statusCode!, "VW_BAD_REQUEST", error.message);
    else {
      request.log.error({ err: error }, "request failed");
      // a database that is down or refuses is the one 5xx a client should retry
      body = errorBody(503, "VW_STORAGE_UNAVAILABLE", "the fleet database is unavailable; retry later");
    }
    metrics.errors.inc({ code: body.code });
    return reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(404, "VW_NOT_FOUND", "no such route")));
  const auth = new FleetAuth(config);
  const rollouts = new RolloutService(repo, config.offlineAfterS * 1000);
  const releasePublicKeyPem = config.releasePublicKeyFile ? readFileSync(config.releasePublicKeyFile, "utf8") : undefined;
  await app.register(fleetRoutes, { repo, view, auth, metrics, rollouts });
  await app.register(releaseRoutes, { repo, auth, rollouts, releasePublicKeyPem });
  rollouts.startTicking(config.rolloutTickMs, (error) => app.log.error({ err: error }, "rollout step failed: tried again next tick"));
  app.addHook("onClose", async () => {
    await rollouts.stop();
    await repo.close();
  });
  return Object.assign(app as unknown as FastifyInstance, { repo, rollouts });
}
