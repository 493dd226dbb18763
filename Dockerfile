# Fledge worker image: multi-stage, prebuilt workflow bundle, runs as non-root.
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
USER node
CMD ["node", "dist/worker.js"]
