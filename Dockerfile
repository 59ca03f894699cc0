# One image for the ITK3 Courier Node processes (API, worker, codec server); the command picks the role.
# Used by docker-compose.yml. Build: docker build -t itk3-courier .
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Sources only: .dockerignore keeps out node_modules, .venv, .data, dist and tests.
COPY . .
# npm run build: tsc, then the workflow bundle (dist/workflow-bundle.js) the worker loads at start-up.
RUN npm run build && npm prune --omit=dev

FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# The worker loads the workflow bundle made at build time (worker/workflow-bundle.ts): a restart takes
# about a second instead of bundling for about ten.
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
USER node
CMD ["node", "dist/client/api/api-main.js"]
