# syntax=docker/dockerfile:1
# SyncKairos release image: built with the full Rust toolchain, shipped as the
# `synckairos` binary plus regions/ on a slim Debian, running as a non-root user.
# `fly deploy --remote-only` builds it on Fly's builders (scripts/deploy.sh).

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# Cache mounts keep the registry and compiled dependencies between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p synckairos --bin synckairos \
 && cp target/release/synckairos /usr/local/bin/synckairos \
 && objcopy --compress-debug-sections=zlib /usr/local/bin/synckairos

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin synckairos
WORKDIR /app
COPY --from=builder /usr/local/bin/synckairos /usr/local/bin/synckairos
COPY regions/ /app/regions/
ENV SYNCKAIROS_REGIONS_DIR=/app/regions
USER synckairos:synckairos
# The public API. The internal port (3001) is reached over Fly's private network only.
EXPOSE 3000
CMD ["synckairos"]
