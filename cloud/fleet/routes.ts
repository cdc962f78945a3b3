// The fleet service's HTTP API. Operators: GET /v1/devices, GET /v1/config, PUT /v1/config.
// Gateways: POST /v1/sync (their site's device reports in, the site's desired configurations out).
// Operations: /healthz, /readyz, /metrics (no token: bind the service to a private address).
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { ID_PATTERN } from "../../protocol/topics.js";
import type { DeviceConfig } from "../../protocol/messages.js";
import { checkDeviceConfig, CONFIG_FIELDS, type ConfigValue } from "../../protocol/config-fields.js";
import { FleetError } from "./errors.js";
import { requireOperator, type FleetAuth, type Principal } from "./fleet-auth.js";
import type { FleetView } from "./fleet-view.js";
import type { FleetMetrics } from "./fleet-metrics.js";
import type { ConfigScope, FleetRepository } from "./storage/fleet-repository.js";
import { desiredConfig } from "./storage/desired-config.js";
import { checkFields, ConfigInputError } from "./config-input.js";
import type { RolloutService } from "./rollout/rollout-service.js";

const Id = Type.String({ pattern: ID_PATTERN.source });
const Label = Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" });

export const ReportSchema = Type.Object(
  {
    device: Id,
    seenMs: Type.Integer({ minimum: 0 }),
    online: Type.Boolean(),
    fw: Type.Optional(Type.String({ maxLength: 24 })),
    slot: Type.Optional(Type.Integer({ minimum: 0, maximum: 1 })),
    boot: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
    seq: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
    cfgVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
    lastError: Type.Optional(Type.String({ maxLength: 96 })),
    rssiDbm: Type.Optional(Type.Integer({ minimum: -127, maximum: 0 })),
    memFree: Type.Optional(Type.Integer({ minimum: 0 })),
    otaState: Type.Optional(Type.String({ maxLength: 16 })),
    otaTarget: Type.Optional(Type.String({ maxLength: 24 })),
    otaError: Type.Optional(Type.String({ maxLength: 64 })),
    overruns: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
    anomalyMean: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
  },
  { additionalProperties: false },
);
export const SyncRequestSchema = Type.Object({ site: Id, reports: Type.Array(ReportSchema, { maxItems: 10_000 }) }, { additionalProperties: false });
export type SyncRequest = Static<typeof SyncRequestSchema>;
export interface SyncReply {
  configs: { device: string; config: DeviceConfig }[];
  /** releases the site's devices should be offered now (rollouts), with where to fetch them */
  offers: { device: string; version: string; url: string }[];
}

const ScopeSchema = Type.Object({ site: Type.Optional(Id), group: Type.Optional(Label), device: Type.Optional(Id) }, { additionalProperties: false });
export const ConfigSetSchema = Type.Object({ scope: ScopeSchema, fields: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: false });
export type ConfigSetRequest = Static<typeof ConfigSetSchema>;
export const LabelsSchema = Type.Object({ site: Id, device: Id, labels: Type.Array(Label, { maxItems: 16 }) }, { additionalProperties: false });

function scopeOf(scope: Static<typeof ScopeSchema>): ConfigScope {
  if (scope.group !== undefined && scope.site === undefined && scope.device === undefined) return { kind: "group", group: scope.group };
  if (scope.site !== undefined && scope.group === undefined) return scope.device === undefined ? { kind: "site", site: scope.site } : { kind: "device", site: scope.site, device: scope.device };
  throw new FleetError("BadRequest", "scope: want {site}, {site, device} or {group}");
}

export interface FleetRouteOptions {
  repo: FleetRepository;
  rollouts: RolloutService;
  view: FleetView;
  auth: FleetAuth;
  metrics: FleetMetrics;
}

export async function fleetRoutes(app: FastifyInstance, { repo, view, auth, metrics, rollouts }: FleetRouteOptions): Promise<void> {
  const who = (request: FastifyRequest): Promise<Principal> => auth.authenticate(request.headers.authorization);

  app.get("/v1/devices", { schema: { querystring: Type.Object({ site: Type.Optional(Id) }) } }, async (request) => {
    requireOperator(await who(request), "read");
    const { site } = request.query as { site?: string };
    return { devices: await view.devices(site === undefined ? {} : { site }) };
  });

  app.get("/v1/config", { schema: { querystring: Type.Object({ site: Type.Optional(Id) }) } }, async (request) => {
    requireOperator(await who(request), "read");
    const { site } = request.query as { site?: string };
    return { entries: await repo.listDesiredConfigs(site === undefined ? {} : { site }) };
  });

  app.put("/v1/config", { schema: { body: ConfigSetSchema } }, async (request) => {
    const principal = await who(request);
    requireOperator(principal, "operate");
    const body = request.body as ConfigSetRequest;
    const scope = scopeOf(body.scope);
    const fields = body.fields as Record<string, ConfigValue>;
    try {
      checkFields(fields);
    } catch (error) {
      if (error instanceof ConfigInputError) throw new FleetError("BadConfig", error.message);
      throw error;
    }
    // every device the change reaches must accept what it merges into (a site's tw and a device's ta)
    const site = scope.kind === "group" ? undefined : scope.site;
    const devices = await repo.listDevices(site === undefined ? {} : { site });
    const entries = (await repo.listDesiredConfigs(site === undefined ? {} : { site })).filter((e) => JSON.stringify(e.scope) !== JSON.stringify(scope));
    const candidate = { scope, fields, revision: 1, updatedMs: 0, updatedBy: "" }; // merge order is by scope, not revision
    for (const d of devices) {
      const merged = desiredConfig(d, [...entries, candidate]);
      const check = merged ? checkDeviceConfig(merged as unknown as ConfigValue, CONFIG_FIELDS.w.max) : { ok: true as const };
      if (!check.ok) throw new FleetError("BadConfig", `device ${d.site}/${d.device} would refuse the merged config: ${check.error}`);
    }
    const revision = await repo.setDesiredConfig(scope, fields, principal.id);
    metrics.configChanges.inc({ scope: scope.kind });
    request.log.info({ scope, revision, by: principal.id }, "desired configuration changed");
    return { revision };
  });

  app.put("/v1/labels", { schema: { body: LabelsSchema } }, async (request) => {
    requireOperator(await who(request), "operate");
    const body = request.body as Static<typeof LabelsSchema>;
    await repo.setLabels(body.site, body.device, body.labels);
    return { ok: true };
  });

  app.post("/v1/sync", { schema: { body: SyncRequestSchema } }, async (request): Promise<SyncReply> => {
    const principal = await who(request);
    const body = request.body as SyncRequest;
    if (principal.kind !== "gateway") throw new FleetError("Forbidden", "only site gateways sync");
    if (principal.site !== body.site) throw new FleetError("SiteMismatch", `gateway "${principal.id}" syncs site "${principal.site}", not "${body.site}"`);
    const changed = await repo.recordReports(body.site, principal.id, body.reports);
    metrics.syncs.inc({ site: body.site });
    metrics.reports.inc({ site: body.site }, changed);
    // the gateway fetches a release from where it reached this service (its fleet.url)
    const base = `${request.protocol}://${request.headers.host ?? request.hostname}`;
    const offers = (await rollouts.offersFor(body.site)).map((o) => ({ ...o, url: `${base}/v1/releases/${o.version}/` }));
    return { configs: await view.siteConfigs(body.site), offers };
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const ready = await repo.db.query("SELECT 1 AS one").then(() => true, () => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "storage unavailable" });
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
