# The gateway: Node 24 runs the TypeScript sources directly (type stripping), no build step.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY connectors/orders-java/package.json connectors/orders-java/package.json
COPY connectors/crm-python/package.json connectors/crm-python/package.json
COPY connectors/tickets-node/package.json connectors/tickets-node/package.json
COPY scripts/link-self.mjs scripts/link-self.mjs
RUN npm ci --omit=dev --no-audit --no-fund
COPY src src
COPY connectors connectors
COPY schemas schemas
COPY openapi openapi
# One gateway process per core behind the one port (OMNIGATE_PROCESSES=1 for a single process).
ENV HOST=0.0.0.0 PORT=8080 OMNIGATE_PROCESSES=auto
EXPOSE 8080
USER node
CMD ["node", "--import", "./src/instrument.ts", "src/main.ts"]
