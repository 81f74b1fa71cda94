# syntax=docker/dockerfile:1
# Build: the whole toolchain, then only what runs.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json ./package.json
USER node
EXPOSE 3000
# Liveness from inside the container; orchestrators should probe /ready for traffic.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# PID 1 is node itself, so SIGTERM reaches the graceful drain. V8 collects garbage on the main
# thread only (--single-threaded-gc): a replica gets about one core, where V8's concurrent GC
# threads would take it from requests (docs/operations.md). Same flags as `npm run start:prod`.
CMD ["node", "--single-threaded-gc", "dist/apps/api/src/main.js"]
