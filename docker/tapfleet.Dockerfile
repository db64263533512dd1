# syntax=docker/dockerfile:1
# The services' image: control plane (compiles with clang), ingest, assembler, query server.
# Build from the repository root:
#   docker build -f docker/tapfleet.Dockerfile -t tapfleet/tapfleet:0.1.0 .
# Its Node stages are the same as docker/agent.Dockerfile's (one layer cache serves both).
ARG NODE_IMAGE=node:20-bookworm-slim

# --- TypeScript: every workspace the `tapfleet` command composes (not test/) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY schemas/package.json schemas/
COPY services/runtime/package.json services/runtime/
COPY services/stack/package.json services/stack/
COPY services/cli/package.json services/cli/
COPY services/compiler/package.json services/compiler/
COPY services/local/package.json services/local/
COPY services/control-plane/package.json services/control-plane/
COPY services/ingest/package.json services/ingest/
COPY services/assembler/package.json services/assembler/
COPY services/query/package.json services/query/
COPY agents/host-agent/package.json agents/host-agent/
COPY agents/runner/package.json agents/runner/
COPY test/package.json test/
# --ignore-scripts: the only install script is the test workspace's chdb, which downloads a library.
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && mkdir /manifests \
 && cp --parents package.json package-lock.json */package.json services/*/package.json agents/*/package.json /manifests/
COPY schemas schemas
COPY services services
COPY agents agents
RUN npx tsc -b services/cli \
 && mkdir -p /out \
 && for ws in schemas services/runtime services/stack services/cli services/compiler services/local services/control-plane \
      services/ingest services/assembler services/query agents/host-agent agents/runner; do \
      mkdir -p "/out/$ws" && cp -r "$ws/dist" "/out/$ws/"; \
    done \
 && cp -r schemas/include /out/schemas/ \
 && cp -r services/compiler/bpf /out/services/compiler/

# --- Production node_modules: no dev dependencies, and not the test workspace's tools ---
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY --from=build /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/chdb node_modules/@chdb node_modules/playwright-core node_modules/@tapfleet/test test

# --- Runtime ---
FROM ${NODE_IMAGE} AS runtime
# clang/llvm-strip build bundles; libbpf-dev and linux-libc-dev are the headers the generated C
# includes and the syscall tables the compiler reads (/usr/include/.../asm/unistd_64.h).
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev linux-libc-dev libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=prod-deps /src/ /app/
COPY --from=build /out/ /app/
COPY bin bin
COPY tapsets tapsets
ENV NODE_ENV=production TAPFLEET_DATA_DIR=/var/lib/tapfleet
# Non-root; the chart mounts /tmp and the data dir writable and the root filesystem read-only.
USER 10001:10001
ENTRYPOINT ["node", "/app/bin/tapfleet.js"]
