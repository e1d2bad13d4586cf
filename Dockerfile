# casebot's container image: built in one stage, run in a slim one as a user without privileges.
#   docker build -t casebot .
#   docker compose up          (casebot on PostgreSQL; see compose.yaml)
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin casebot

FROM debian:bookworm-slim
# curl only for the health check; ca-certificates for Discord's and the order API's TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/casebot --create-home casebot
COPY --from=build /src/target/release/casebot /usr/local/bin/casebot
USER casebot
WORKDIR /var/lib/casebot
# Health and metrics must be reachable from outside the container; secrets come from the
# environment at run time, never from the image.
ENV CASEBOT__SERVER__HTTP_ADDR=0.0.0.0:8080 \
    CASEBOT__LOG__FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["casebot"]
CMD ["run"]
