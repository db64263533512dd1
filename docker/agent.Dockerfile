# syntax=docker/dockerfile:1
# The host agent's image: the agent (Node) and the runner it spawns (C, libbpf linked statically).
# Build from the repository root:
#   docker build -f docker/agent.Dockerfile -t tapfleet/tapfleet-agent:0.1.0 .
# Runs as root with CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE (the chart's DaemonSet), not privileged.
# Its Node stages are the same as docker/tapfleet.Dockerfile's (one layer cache serves both).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim

# --- The runner and tapfleet-clock-status, as `make -C agents/runner` builds them here ---
FROM ${DEBIAN_IMAGE} AS runner
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make pkg-config libbpf-dev libelf-dev zlib1g-dev libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src/agents/runner
COPY agents/runner/Makefile ./
COPY agents/runner/native native
COPY schemas/include /src/schemas/include
RUN make -s

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
 && cp -r schemas/clickhouse /out/schemas/ \
 && cp -r services/compiler/bpf /out/services/compiler/ \
 && cp -r services/query/web /out/services/query/

# --- Production node_modules: no dev dependencies, and not the test workspace's tools ---
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY --from=build /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/chdb node_modules/@chdb node_modules/playwright-core node_modules/@tapfleet/test test

# --- Runtime ---
FROM ${NODE_IMAGE} AS runtime
# The runner links libbpf statically; libelf and zlib are its dynamic libraries.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libelf1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=prod-deps /src/ /app/
COPY --from=build /out/ /app/
COPY --from=runner /src/agents/runner/build/tapfleet-runner /src/agents/runner/build/tapfleet-clock-status /app/agents/runner/build/
COPY bin bin
# NODE_OPTIONS: the agent's Node flags, AGENT_NODE_FLAGS (services/runtime/src/agent-launch.ts, which says why).
ENV NODE_ENV=production TAPFLEET_DATA_DIR=/var/lib/tapfleet NODE_OPTIONS=--max-semi-space-size=1
ENTRYPOINT ["node", "/app/bin/tapfleet.js"]
CMD ["agent"]
