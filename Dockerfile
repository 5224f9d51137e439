# The one Argus image: every role of the `argus` CLI (scan, run, operator, reports-server, extension, attest).
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step: production
# dependencies, package.json (the version) and src/. POSIX sh stays in the image: ops pods exec into it.
#   docker build -t ghcr.io/argus-io/argus:$(node -p "require('./package.json').version") .
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
RUN printf '#!/bin/sh\nexec node /app/src/cli/main.ts "$@"\n' >/usr/local/bin/argus \
  && printf '#!/bin/sh\nexec node /app/src/cli/kubectl-argus.ts "$@"\n' >/usr/local/bin/kubectl-argus \
  && chmod 0755 /usr/local/bin/argus /usr/local/bin/kubectl-argus
# Compiled modules of every role, cached at build time: each scan Job starts two argus processes, and a warm
# cache halves their start (the file system stays read-only at run time; the cache is only read).
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN for role in scan report reports-server operator run debug; do argus "$role" --help >/dev/null; done \
  && chmod -R a+rX /app/.compile-cache
# The nonroot user of distroless images; the operator's and reports server's pods run as it.
USER 65532:65532
ENTRYPOINT ["argus"]
