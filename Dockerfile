# syntax=docker/dockerfile:1
# vibewatch: one image for every tier (`vibewatch ingest`, `vibewatch gateway`, `vibewatch sim`, ...).
#   docker build -t vibewatch:0.1.0 .
#   docker run --rm vibewatch:0.1.0 --help
# Used by manifests/compose/docker-compose.yml and manifests/k8s/ (the tag there is package.json's
# version; test/deploy/ checks that they agree). Build and runtime use the same Node release, pinned
# to a full version so a rebuild next month runs what was tested.

# --- build: compile TypeScript, build the native parts (better-sqlite3, the XS engine of
# @agoric/xsnap, which compiles Moddable's XS from source at install), then drop dev dependencies.
FROM node:20.20.2-bookworm-slim AS build
# python3/make/g++ for node-gyp (better-sqlite3 when no prebuilt binary fits) and the xsnap build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# dependencies first: this layer is reused until package*.json or the native C change. npm ci's
# postinstall (scripts/build-xs-worker.js) links the firmware's native DSP (and the simulator's
# memory probe) into a variant of xsnap's XS worker, so their C comes before it.
COPY package.json package-lock.json ./
COPY scripts/build-xs-worker.js ./scripts/build-xs-worker.js
COPY firmware/dsp/native ./firmware/dsp/native
COPY simulator/native ./simulator/native
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
# one COPY per folder: COPY of several folders would flatten their contents into /app
COPY cli ./cli
COPY protocol ./protocol
COPY gateway ./gateway
COPY cloud ./cloud
COPY firmware ./firmware
COPY simulator ./simulator
COPY pki ./pki
# not in tsconfig.build.json's include, but cli/commands/demo.ts imports it, so tsc compiles it
COPY demo ./demo
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled code, production node_modules (with their native builds), and the sources
# `vibewatch sim` bundles with esbuild at start to run in XS: the device entry
# (simulator/xs-entries/), the firmware and the protocol. esbuild reads the tsconfig files for the
# TypeScript semantics (ES2022 class fields), so they come along: the image bundles what tests ran.
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# code is owned by root and read-only for the service user: the process cannot rewrite itself
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
# the XS worker with the native DSP that `vibewatch sim` runs the firmware in
COPY --from=build /app/build/xsnap-dsp/bin ./build/xsnap-dsp/bin
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY protocol ./protocol
COPY firmware ./firmware
COPY simulator ./simulator
COPY tsconfig.json tsconfig.base.json ./
# the gateway's buffer lives on a volume mounted here; a fresh named volume takes this folder's
# owner, so the non-root user can write to it. /etc/vibewatch holds the mounted config files.
RUN mkdir -p /var/lib/vibewatch-gateway /etc/vibewatch \
 && chown node:node /var/lib/vibewatch-gateway
# the node image's unprivileged user (uid 1000); the k8s manifests pin runAsUser to the same uid
USER node
# ingest 8480 (cloud/config/schema.ts default), gateway metrics/health 9464
EXPOSE 8480 9464
# --max-semi-space-size=64: a young generation sized for the ingest service's 5,000-record batches,
# whose decoded records otherwise outlive the default 16 MiB semi-space and are copied by every
# scavenge (cloud/README.md, "Memory and the garbage collector"; bench:ingest runs with it too)
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/vibewatch.js"]
CMD ["--help"]
