# xgc-guard: multi-stage build on Node 20 (Debian bookworm slim).
# Build with: docker build -t xgc-guard .   Run with: docker run --init -v guard-data:/data ... (tini is also PID 1 here)

FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only; better-sqlite3 compiles here with the native toolchain.
FROM node:20-bookworm-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# --max-semi-space-size=2: a 4 MB young generation instead of up to 32 MB (bench/RESULTS.md, daemon memory)
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    GUARD_DB=/data/guard.db \
    GUARD_HTTP_HOST=0.0.0.0 \
    GUARD_HTTP_PORT=8080 \
    GUARD_LOG_PRETTY=0
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY public ./public
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GUARD_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli.js"]
CMD ["run"]
