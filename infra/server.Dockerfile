# One image for the server-side services; the first argument picks the service:
#   services/authz/src/main.ts, services/projection/src/main.ts, services/gateway/src/main.ts,
#   services/gitlab-sync/src/main.ts (the Deployments in infra/kubernetes set it).
# The repository's sources run through tsx (no build step), production dependencies only.
# Build from the repository root:
#   docker build -f infra/server.Dockerfile -t kasmap/server:0.1.0 .
FROM node:20-bookworm-slim
WORKDIR /app
# Manifests first, so dependency layers are reused while only sources change. Every workspace's
# package.json is needed for npm to link it (infra/dockerfiles.unit.test.ts checks the list).
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
COPY services services
USER node
# tsx's loader compiles the TypeScript sources on the fly (its cache goes to /tmp, an emptyDir
# in the Deployments: the root filesystem is read-only).
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["services/gateway/src/main.ts"]
