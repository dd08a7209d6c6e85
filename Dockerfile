# xgc-guard on Node 24 LTS (Debian bookworm slim).
#   scripts/container-base      # where Docker Hub cannot be reached: builds node:24-bookworm-slim from Debian packages
#   docker build -t xgc-guard . [--build-arg NPM_REGISTRY=https://registry.npmmirror.com/]
#   docker run --init -d -v guard-data:/data -e XGC_API_TOKEN_FILE=... xgc-guard   (compose: `init: true`)
# Nothing is downloaded but Debian's build tools and npm packages (native addons compile from source).
# scripts/smoke-prod performs the same install outside Docker (CI runs it); keep the two in step.

# ---- build stage: dependencies, native addons, TypeScript, then dev dependencies dropped
FROM node:24-bookworm-slim AS build
# The npm registry to install from (a mirror where registry.npmjs.org is slow or blocked).
ARG NPM_REGISTRY=https://registry.npmjs.org/
# Compilers for better-sqlite3 and ssh2's native addons; apt lists removed in the same layer.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# npm reads these: the registry above; addons built from source against the base image's Node headers
# (/usr/local/include/node) instead of prebuilt binaries or headers fetched from outside the registry.
ENV npm_config_registry=$NPM_REGISTRY \
    npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false
# The lockfile first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
# npm ci runs `prepare`; with no sources yet it builds nothing.
COPY scripts/prepare.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# dist/ from TypeScript, then only the production dependencies kept for the runtime stage.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime stage: what the build produced, no toolchain, nothing compiled again
FROM node:24-bookworm-slim
WORKDIR /app
# The database on the /data volume; listen beyond loopback (needs GUARD_API_TOKEN); JSON logs on stdout.
# Time zones come from Node's ICU (Intl), so no tzdata is needed.
ENV NODE_ENV=production \
    GUARD_DB=/data/guard.db \
    GUARD_HTTP_HOST=0.0.0.0 \
    GUARD_LOG_PRETTY=0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY public ./public
# The only place the guard writes; owned by the unprivileged `node` user (uid 1000) the process runs as.
RUN mkdir -p /data && chown node:node /data
USER node
# Keep the database when the container is replaced; the root filesystem can then be read-only (--read-only).
VOLUME /data
# 8080 unless http.port (config file) or GUARD_HTTP_PORT says otherwise.
EXPOSE 8080
# `health` reads the same config file and environment as `run`, so a port set in guard.yaml is the one asked.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["node", "dist/cli.js", "health"]
# node itself is the process: it stops its jobs and closes SQLite on SIGTERM (docker stop); `--init` / compose
# `init: true` adds an init that reaps children. The node flags are package.json's `start` flags: V8's young
# generation kept to 2 MB per semi-space, and an old generation limit of 256 MB, at which V8 grows the heap in small
# steps between collections.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-old-space-size=256", "dist/cli.js"]
CMD ["run"]
