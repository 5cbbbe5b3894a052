# syntax=docker/dockerfile:1
# The root Dockerfile for Railway: identical stages, without the BuildKit cache mounts
# (Railway requires cache-mount ids prefixed with the service id). tests/deploy_platforms.rs
# checks that it stays the root Dockerfile minus those mounts.

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p synckairos --bin synckairos \
 && cp target/release/synckairos /usr/local/bin/synckairos \
 && objcopy --compress-debug-sections=zlib /usr/local/bin/synckairos

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin synckairos
WORKDIR /app
COPY --from=builder /usr/local/bin/synckairos /usr/local/bin/synckairos
COPY regions/ /app/regions/
ENV SYNCKAIROS_REGIONS_DIR=/app/regions
USER synckairos:synckairos
EXPOSE 3000
CMD ["synckairos"]
