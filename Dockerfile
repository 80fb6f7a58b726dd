# One image for both processes of the Iris Report Service; the command picks which:
#   web (default)  node <flags> dist/app/main.js    = `npm run web`
#   worker         node <flags> dist/tasks/main.js  = `npm run worker`   (docker-compose.yml sets it)
# The build stage type-checks and compiles with the same `npm run typecheck` and `npm run build`
# CI runs (CI's process tests start these same compiled entries), so an image is only built from
# code that passes them; the runtime has no TypeScript tooling at all.
ARG NODE_VERSION=22

# ---- build: every dependency, sources, strict type check -----------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Behind a TLS-intercepting proxy, its CA comes in as a build secret (`--secret id=npm_ca,src=…`),
# seen by this one command and never stored in a layer; without the secret, Node's own CAs.
RUN --mount=type=secret,id=npm_ca \
    NODE_EXTRA_CA_CERTS="$([ -s /run/secrets/npm_ca ] && echo /run/secrets/npm_ca)" npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
COPY tasks ./tasks
COPY templates ./templates
COPY scripts ./scripts
COPY test ./test
RUN npm run typecheck && npm run build

# ---- runtime: production dependencies only, sources that passed the check, non-root --------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    RESULTS_DIR=/app/results_data
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_ca \
    NODE_EXTRA_CA_CERTS="$([ -s /run/secrets/npm_ca ] && echo /run/secrets/npm_ca)" npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/scripts/run_web.sh /app/scripts/run_worker.sh ./scripts/
# The results directory belongs to the unprivileged user; a named volume mounted here on first
# use takes this ownership, so web and workers can share it.
RUN mkdir -p /app/results_data && chown node:node /app/results_data
USER node
EXPOSE 8080
# Liveness through /healthz with node itself (slim images have no curl). The web answers on
# PORT; a worker container sets WORKER_HEALTH_PORT and answers there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WORKER_HEALTH_PORT || process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is the process (not npm, not a shell), so `docker stop`'s SIGTERM reaches the
# service's graceful shutdown. Node options (BENCHMARKS.md, memory): one V8 helper thread, not
# four, on these 2-core hosts; a worker also keeps a smaller young generation (4 MB semi-spaces,
# not 16), which costs it nothing measurable. The web keeps V8's default: with 4 MB its
# synchronous predicts after a run of jobs were ~25% slower.
CMD ["node", "--v8-pool-size=1", "dist/app/main.js"]
