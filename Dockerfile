# One image for the worker and the API (docker-compose.yml picks the command).
# Stage 1 compiles the TypeScript with the dev dependencies; stage 2 ships only the production
# dependencies and the compiled dist/ (migrations included), runs as the unprivileged `node` user and
# runs plain JavaScript: no TypeScript compiler, no tsx, no sources at run time.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the build needs only tsc (they fetch native tools for tsx, swc and embedded PostgreSQL).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY apis ./apis
COPY store ./store
COPY routing ./routing
COPY workers ./workers
COPY client ./client
COPY infra ./infra
COPY simulators ./simulators
COPY migrations ./migrations
RUN npm run build

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    WORKER_HEARTBEAT_FILE=/tmp/sm8qbo-worker.heartbeat
COPY package.json package-lock.json ./
# @swc/core (the worker's workflow bundler) is the only production package with an install script, and it
# only checks that its prebuilt binary (an optional dependency, installed anyway) is present.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# `docker compose exec api sm8qbo connections`: the operator CLI, reading ADMIN_TOKEN and PORT from the container.
RUN ln -s /app/bin/sm8qbo.js /usr/local/bin/sm8qbo
USER node
# The worker by default (the API overrides command and healthcheck in docker-compose.yml). The first start
# bundles the workflows (several seconds) before the first heartbeat: hence the start period.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "dist/infra/healthcheck.js", "worker"]
CMD ["node", "dist/workers/worker.js"]
