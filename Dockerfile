# Fledge worker image (and CLI): multi-stage, prebuilt workflow bundle, runs as non-root.
# test/integration/production-build.test.ts runs this layout (dist/, bin/, package.json, no src/) with plain node.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install --no-save: the lockfile omits resolved URLs and other platforms' optional packages (see scripts/setup.sh)
RUN npm install --no-save --no-fund --no-audit
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/
RUN npx tsc -p tsconfig.build.json && npx tsx scripts/bundle-workflows.ts && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The CLI is in the image too, so CI can gate on a release with the same artefact:
#   docker run --rm -e TEMPORAL_ADDRESS -e TEMPORAL_API_KEY … <image> fledge start -f canary.yaml --image app=… --wait
RUN ln -s /app/bin/fledge.js /usr/local/bin/fledge
USER node
CMD ["node", "dist/worker.js"]
