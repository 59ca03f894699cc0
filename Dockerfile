# One image for the ITK3 Courier Node processes (API, worker, codec server); the command picks the role.
# Used by docker-compose.yml. Build: docker build -t itk3-courier .
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Sources only: .dockerignore keeps out node_modules, .venv, .data, dist and tests.
COPY . .
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Workflow sources are bundled by the worker at start-up from dist/ (compiled JS).
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
USER node
CMD ["node", "dist/client/api-main.js"]
