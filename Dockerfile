# syntax=docker/dockerfile:1
# trailhound: the Slack bot (`serve`) by default; any CLI command otherwise, e.g.
#   docker run --rm -v trailhound-data:/data --env-file .env trailhound            # the bot
#   docker run --rm -v trailhound-data:/data trailhound scan --input /logs --since 24h

# ---- build: compile TypeScript with the dev dependencies, then drop them
FROM node:26-slim AS build
WORKDIR /app
# A C compiler for the native byte walk (native/record-walk.c), which `npm ci` builds with node-gyp
# against the image's own Node headers (/usr/local/include/node: no header download).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/prune-geo-data.mjs ./scripts/prune-geo-data.mjs
# Production dependencies only, and only the geo data files the code reads (35 MB of ASN CSVs less).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && node scripts/prune-geo-data.mjs && mkdir -p build/Release

# ---- runtime: current LTS Node, production dependencies and dist only, non-root
FROM node:26-slim
# tini as PID 1 forwards `docker stop`'s SIGTERM to Node (which, as PID 1, would otherwise ignore
# it) and reaps: `scan` ends at once, `serve` stops cleanly within 8 s (under Docker's 10 s).
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    TRAILHOUND_DATA_DIR=/data \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The font of the timeline images (Inter, SIL OFL 1.1): the slim image has no system fonts.
COPY --chown=root:root assets ./assets
# The native byte walk (empty if it did not build: scans then use the JavaScript walk).
COPY --from=build --chown=root:root /app/build/Release ./build/Release
# The store is a directory (lowdb writes a temp file then renames it): mount a volume, not a file.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
# The image's unprivileged `node` user (uid 1000); the code itself stays owned by root, read-only to it.
USER node
# HTTP receiver (no SLACK_APP_TOKEN), and /healthz in both modes (PORT is set above).
EXPOSE 3000
# slim images have no curl/wget: ask /healthz with Node itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) stops the bot cleanly: running scans are told, the store is flushed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli.js"]
CMD ["serve"]
