# The collector image: the repository's sources run through tsx (no build step), production
# dependencies only. Build from the repository root:
#   docker build -f infra/collector.Dockerfile -t kasmap/collector:0.1.0 .
FROM node:20-bookworm-slim
WORKDIR /app
# Manifests first, so dependency layers are reused while only sources change.
COPY package.json package-lock.json ./
COPY libs/contracts/package.json libs/contracts/
COPY libs/bus/package.json libs/bus/
COPY libs/db/package.json libs/db/
COPY libs/cluster-info/package.json libs/cluster-info/
COPY libs/authz/package.json libs/authz/
COPY libs/logging/package.json libs/logging/
COPY libs/testing/package.json libs/testing/
COPY services/collector/package.json services/collector/
COPY services/authz/package.json services/authz/
COPY services/projection/package.json services/projection/
COPY services/gateway/package.json services/gateway/
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY libs libs
COPY services/collector services/collector
USER node
ENTRYPOINT ["node", "services/collector/bin/kasmap-collector.mjs"]
