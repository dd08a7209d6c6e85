# xgc-guard on Node 24 LTS (Debian bookworm slim).
#   docker build -t xgc-guard .
#   docker run --init -d -v guard-data:/data -e XGC_API_TOKEN_FILE=... xgc-guard   (compose: `init: true`)
# scripts/smoke-prod performs the same install outside Docker (CI runs it); keep the two in step.

# Build: dependencies once (better-sqlite3 is compiled here, or fetched prebuilt), TypeScript, then drop dev deps.
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/prepare.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime: what the build produced, nothing compiled again, no toolchain.
# Time zone offsets are read from /usr/share/zoneinfo (tzdata, a required package of bookworm, so in the slim image):
# without it they come from ICU, whose data then stays resident (~8 MB of the daemon's peak; src/tzdb.ts).
FROM node:24-bookworm-slim
WORKDIR /app
# --max-semi-space-size=2: a 4 MB young generation instead of up to 32 MB (bench/RESULTS.md, daemon memory).
# MALLOC_ARENA_MAX=1: one glibc malloc arena, not one per thread of V8's pool (the daemon's RSS p50 at 1,000 instances:
# about 155 instead of 173-179 MB on Node 24, 132 instead of 146 MB on Node 20; ticks no slower).
# MALLOC_MMAP_THRESHOLD_=131072: blocks of 128 KB and more are mapped apart and returned when freed. Left to itself glibc
# raises that threshold to the largest block freed so far (an 8 MB one in the daemon), after which such blocks are
# carved from the heap and their pages kept (peak RSS at 1,000 instances about 5 MB lower; bench/RESULTS.md).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    MALLOC_ARENA_MAX=1 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    GUARD_DB=/data/guard.db \
    GUARD_HTTP_HOST=0.0.0.0 \
    GUARD_LOG_PRETTY=0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY public ./public
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
# 8080 unless http.port (config file) or GUARD_HTTP_PORT says otherwise
EXPOSE 8080
# `health` reads the same config file and environment as `run`, so a port set in guard.yaml is the one asked.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["node", "dist/cli.js", "health"]
# No init of our own: `docker run --init` / compose `init: true` supply one (node handles SIGTERM either way).
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["run"]
