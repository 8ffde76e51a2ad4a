# Kindred: one image for every role (`kindred start --role …`). Runs from the TypeScript sources
# with tsx (a runtime dependency), so there is no compile step; the console is built here.
# Node 22: the runtime dependencies require it (package.json `engines`).
#   docker build -t kindred .
#   docker run -e DATABASE_URL=… -e KINDRED_EVENT_LOG=nats://… kindred start --role ingest

# --- build: full install (the console workspace's React, Mantine, Vite…), console bundle ----------
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY console/package.json ./console/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:console

# --- runtime deps only: the console's packages are dev dependencies of its workspace, so they ----
# stay out; the workspace's package.json is still needed for the lockfile to match.
FROM node:22-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY console/package.json ./console/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------------
FROM node:22-slim
# Kindred listens on 127.0.0.1 unless told otherwise, which no one outside the container can reach:
# the image opens it to the container's interfaces (publish the port to choose who reaches it).
ENV NODE_ENV=production \
    KINDRED_CONSOLE_BUILD=0 \
    KINDRED_DATA_DIR=/var/lib/kindred \
    KINDRED_HOST=0.0.0.0 \
    PORT=8787
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --chown=root:root package.json tsconfig.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root src ./src
COPY --from=build /app/console/dist ./console/dist
# The code is root-owned and read-only to the service user; only the data dir is writable
# (embedded mode; with DATABASE_URL it holds nothing but may be a tmpfs).
RUN mkdir -p /var/lib/kindred && chown node:node /var/lib/kindred
USER node
EXPOSE 8787
# Ingest/all serve the API on $PORT; worker roles serve /healthz and /metrics on it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/kindred.js"]
CMD ["start", "--role", "all"]
