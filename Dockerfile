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

# Runtime: what the build produced, nothing compiled again, no toolchain. Time zones come from Node's ICU (Intl).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
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
