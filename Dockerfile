# Cerulean container image: `docker build -t cerulean .`
#
# Three stages: `build` compiles TypeScript and builds the portal (dist/portal) with the development tools, `deps` installs the
# production dependencies only (better-sqlite3 is compiled there when no prebuilt binary fits), and
# `runtime` holds just those two results on a slim Node image, run as the unprivileged `node` user.
# scripts/check-docker-steps.mjs replays these steps without Docker; keep each RUN relative to the
# WORKDIR so that it can.

FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY portal ./portal
RUN npm run build

FROM node:20-bookworm-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json cerulean.example.yaml ./
COPY bin ./bin
# State (SQLite database, master key hash, usage spool) lives in /app/data; mount a volume there.
RUN mkdir -p data && chown node:node data
USER node
VOLUME ["/app/data"]
EXPOSE 8080
# /readyz answers 503 while the service drains or cannot serve; curl is not in the slim image.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Mount a configuration at /etc/cerulean/cerulean.yaml and pass `--config /etc/cerulean/cerulean.yaml`;
# without one the shipped example is served. SIGTERM drains in-flight requests before exiting.
ENTRYPOINT ["node", "bin/cerulean.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
