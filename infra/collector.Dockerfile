# The collector image: the repository's sources run through tsx (no build step), production
# dependencies only. Build from the repository root, naming the commit the image is built from
# (it is reported in cluster_info.connections[].commit; without it the field is null):
#   docker build -f infra/collector.Dockerfile \
#     --build-arg KASMAP_COMMIT="$(git rev-parse HEAD)" -t kasmap/collector:0.1.0 .
FROM node:20-bookworm-slim
WORKDIR /app
# Manifests first, so dependency layers are reused while only sources change. Every workspace of
# the root package.json is listed: `npm ci` refuses a lock file that names a missing workspace
# (infra/collector-dockerfile.unit.test.ts checks the list against libs/ and services/).
COPY package.json package-lock.json ./
COPY libs/access-rules/package.json libs/access-rules/
COPY libs/bus/package.json libs/bus/
COPY libs/cluster-info/package.json libs/cluster-info/
COPY libs/contracts/package.json libs/contracts/
COPY libs/db/package.json libs/db/
COPY libs/gitlab-api/package.json libs/gitlab-api/
COPY libs/kube-simulator/package.json libs/kube-simulator/
COPY libs/logging/package.json libs/logging/
COPY libs/runtime/package.json libs/runtime/
COPY libs/testing/package.json libs/testing/
COPY services/authz/package.json services/authz/
COPY services/collector/package.json services/collector/
COPY services/gateway/package.json services/gateway/
COPY services/gitlab-sync/package.json services/gitlab-sync/
COPY services/projection/package.json services/projection/
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY libs libs
COPY services/collector services/collector
# Last, so a new commit rebuilds only this layer. The collector reads KASMAP_COMMIT at start.
ARG KASMAP_COMMIT=""
ENV KASMAP_COMMIT=${KASMAP_COMMIT}
USER node
ENTRYPOINT ["node", "services/collector/bin/kasmap-collector.mjs"]
