// Releases and rollouts on the fleet API. A release is published once per version, verified with
// the site fleet's release public key before it is stored (a tampered or unsigned release never
// reaches a gateway); gateways fetch its three files from GET /v1/releases/{version}/{file}.
// Those GETs need no token: a release is signed, devices verify it themselves, and a gateway
// fetches with the same plain GETs it uses for any release URL (gateway/ota/release-fetch.ts);
// bind the service to a private address (README, "API").
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { ID_PATTERN } from "../../protocol/topics.js";
import { IMAGE_FILE, MANIFEST_FILE, SIGNATURE_FILE, hex, ReleaseError, verifyRelease } from "../../gateway/ota/release-files.js";
import { FleetError } from "./errors.js";
import { requireOperator, type FleetAuth } from "./fleet-auth.js";
import type { FleetRepository, ReleaseFiles } from "./storage/fleet-repository.js";
import { RolloutError, type RolloutService } from "./rollout/rollout-service.js";
import { tally, type RolloutState } from "./rollout/rollout-engine.js";

const Version = Type.String({ pattern: "^(0|[1-9][0-9]{0,5})\\.(0|[1-9][0-9]{0,5})\\.(0|[1-9][0-9]{0,5})$" });
const Base64 = Type.String({ pattern: "^[A-Za-z0-9+/]*={0,2}$" });
export const PublishSchema = Type.Object({ image: Base64, manifest: Base64, signature: Base64 }, { additionalProperties: false });
export const RolloutStartSchema = Type.Object(
  {
    release: Version,
    site: Type.Optional(Type.String({ pattern: ID_PATTERN.source })),
    group: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" })),
    waves: Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), { minItems: 2, maxItems: 10 }),
    soakMs: Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 * 1000 }),
    installDeadlineMs: Type.Integer({ minimum: 1000, maximum: 7 * 24 * 3600 * 1000, default: 2 * 3600 * 1000 }),
    rollbackOnBreach: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type RolloutStartRequest = Static<typeof RolloutStartSchema>;

const FILES: Record<string, keyof ReleaseFiles> = { [IMAGE_FILE]: "image", [MANIFEST_FILE]: "manifest", [SIGNATURE_FILE]: "signature" };

export function rolloutSummary(state: RolloutState) {
  return { id: state.plan.id, release: state.plan.release, status: state.status, wave: state.wave + 1, waves: state.plan.waves, phase: state.phase, reason: state.reason ?? null, devices: tally(state) };
}

export async function releaseRoutes(app: FastifyInstance, options: { repo: FleetRepository; auth: FleetAuth; rollouts: RolloutService; releasePublicKeyPem: string | undefined }): Promise<void> {
  const { repo, auth, rollouts } = options;
  const operator = async (request: FastifyRequest, role: "read" | "operate") => {
    const principal = await auth.authenticate(request.headers.authorization);
    requireOperator(principal, role);
    return principal;
  };
  const rolloutError = (error: unknown): never => {
    if (error instanceof RolloutError) throw new FleetError("BadRequest", error.message);
    throw error;
  };

  app.put("/v1/releases", { schema: { body: PublishSchema }, bodyLimit: 64 * 1024 * 1024 }, async (request, reply) => {
    const principal = await operator(request, "operate");
    if (!options.releasePublicKeyPem) throw new FleetError("BadRequest", "this fleet service has no releasePublicKeyFile: it cannot check a release's signature, so it takes none");
    const body = request.body as Static<typeof PublishSchema>;
    const parts = { image: Buffer.from(body.image, "base64"), manifestBytes: Buffer.from(body.manifest, "base64"), signature: Buffer.from(body.signature, "base64") };
    let verified;
    try {
      verified = verifyRelease(parts, options.releasePublicKeyPem);
    } catch (error) {
      if (error instanceof ReleaseError) throw new FleetError("BadRequest", `release refused: ${error.message}`);
      throw error;
    }
    const m = verified.manifest;
    const stored = await repo.putRelease(
      { version: m.rv, board: m.bd, sizeBytes: m.sz, sha256: hex(m.h), minVersion: m.mn, publishedMs: Date.now(), publishedBy: principal.id },
      { image: parts.image, manifest: parts.manifestBytes, signature: parts.signature },
    );
    if (!stored) {
      const existing = (await repo.listReleases()).find((r) => r.version === m.rv);
      if (existing?.sha256 !== hex(m.h)) throw new FleetError("BadRequest", `release ${m.rv} exists with another image: a version is published once`);
    }
    return reply.code(stored ? 201 : 200).send({ version: m.rv, board: m.bd, sizeBytes: m.sz, stored });
  });

  app.get("/v1/releases", async (request) => {
    await operator(request, "read");
    return { releases: await repo.listReleases() };
  });

  app.get("/v1/releases/:version/:file", async (request, reply) => {
    const { version, file } = request.params as { version: string; file: string };
    const column = FILES[file];
    const bytes = column ? await repo.releaseFile(version, column) : undefined;
    if (!bytes) throw new FleetError("NotFound", `no ${file} of release ${version}`);
    return reply.type("application/octet-stream").send(Buffer.from(bytes));
  });

  app.post("/v1/rollouts", { schema: { body: RolloutStartSchema } }, async (request, reply) => {
    await operator(request, "operate");
    const body = request.body as RolloutStartRequest;
    const state = await rollouts
      .start({ release: body.release, waves: body.waves, soakMs: body.soakMs, installDeadlineMs: body.installDeadlineMs, rollbackOnBreach: body.rollbackOnBreach, ...(body.site ? { site: body.site } : {}), ...(body.group ? { group: body.group } : {}) })
      .catch(rolloutError);
    request.log.info({ rollout: state.plan.id, release: body.release }, "rollout started");
    return reply.code(201).send(rolloutSummary(state));
  });

  app.get("/v1/rollouts", async (request) => {
    await operator(request, "read");
    return { rollouts: (await repo.listRollouts()).map(rolloutSummary) };
  });

  app.get("/v1/rollouts/:id", async (request) => {
    await operator(request, "read");
    const state = await repo.getRollout((request.params as { id: string }).id);
    if (!state) throw new FleetError("NotFound", "no such rollout");
    return { ...rolloutSummary(state), members: state.devices.map(({ health: _health, ...d }) => d) };
  });

  for (const action of ["pause", "resume", "abort"] as const) {
    app.post(`/v1/rollouts/:id/${action}`, async (request) => {
      await operator(request, "operate");
      const state = await rollouts[action]((request.params as { id: string }).id).catch(rolloutError);
      return rolloutSummary(state);
    });
  }
}
