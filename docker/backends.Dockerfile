# The three sample backends (test fixtures and demo systems) with their shared seed data.
# Build one with --target orders | crm | tickets.
FROM node:24-bookworm-slim AS seed
WORKDIR /app
COPY scripts/seed.mjs scripts/seed.mjs
RUN node scripts/seed.mjs /seed

FROM eclipse-temurin:17-jdk AS orders-build
WORKDIR /app
COPY backends/orders-java backends/orders-java
RUN OUT=/classes bash backends/orders-java/build.sh

FROM eclipse-temurin:17-jre AS orders
COPY --from=orders-build /classes /app/classes
COPY --from=seed /seed /seed
ENV OMNIGATE_SEED_DIR=/seed ORDERS_PORT=8081
EXPOSE 8081
CMD ["java", "-cp", "/app/classes", "omnigate.orders.Main"]

FROM python:3.11-slim AS crm
COPY backends/crm-python /app
COPY --from=seed /seed /seed
ENV OMNIGATE_SEED_DIR=/seed CRM_PORT=8082
EXPOSE 8082
CMD ["python3", "/app/server.py"]

FROM node:24-bookworm-slim AS tickets
COPY backends/tickets-node /app
COPY --from=seed /seed /seed
ENV OMNIGATE_SEED_DIR=/seed TICKETS_PORT=8083
EXPOSE 8083
CMD ["node", "/app/server.mjs"]
