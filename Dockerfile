# Thermocline's container image: docs/deploy.md#the-container-image.
#
#   docker build -t thermocline .
#   docker run -v tc-data:/var/lib/thermocline -e PG_URL=… -e CH_URL=… -p 4318:4318 thermocline
#
# Two stages. `build` installs every dependency, compiles src/ to dist/ and then prunes the tree to
# the runtime dependencies; `runtime` copies only that result onto a slim Node image. The optional
# embedded engines (chdb ~540 MB, embedded-postgres ~60 MB) are pruned too: in a container the sinks
# write to PostgreSQL and ClickHouse servers (`PG_URL`, `CH_URL`), never to embedded ones.
# test/deploy/dockerfile.test.ts reads this file and runs its steps outside Docker.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 downloads a prebuilt binary for this Node version; the compilers are the fallback
# when none matches the platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before src/ is copied; better-sqlite3's install is the
# one script the runtime needs.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev --omit=optional --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# glibc's malloc keeps its default thresholds: a fixed low mmap threshold saved 12-20 MiB of RSS
# at 50k events/s but doubled the CPU per event at higher rates (docs/operations.md#resident-memory).
ENV NODE_ENV=production \
    THERMOCLINE_CONFIG=/etc/thermocline/thermocline.toml \
    THERMOCLINE_DATA_DIR=/var/lib/thermocline \
    THERMOCLINE_HEALTH_URL=http://127.0.0.1:8686/health
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY migrations ./migrations
COPY config ./config
COPY deployments/config/gateway.toml /etc/thermocline/thermocline.toml
# The agent writes only data_dir (queue, checkpoints, dead letters), so the root file system can be
# mounted read-only. A numeric user, so that Kubernetes' runAsNonRoot can check it.
RUN mkdir -p /var/lib/thermocline && chown 10001:10001 /var/lib/thermocline && chmod 0750 /var/lib/thermocline
USER 10001:10001
VOLUME ["/var/lib/thermocline"]
# 4318: OTLP/HTTP receiver; 8686: API (/health, /metrics).
EXPOSE 4318 8686 8688
# The slim image has neither curl nor wget: Node's own fetch asks /health (200 when every component
# is healthy, 503 otherwise).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.THERMOCLINE_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["run"]
