# The aqm server image: built in the official Rust image, run from a slim Debian with only the
# files the binary reads at run time (criteria frameworks and the static folder).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin aqm

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /app aqm \
 && mkdir -p /data && chown aqm /data
COPY --from=build /src/target/release/aqm /usr/local/bin/aqm
COPY criteria /app/criteria
COPY static /app/static
WORKDIR /app
USER aqm
ENV AQM_BIND=0.0.0.0:3000 AQM_DATA_DIR=/data
EXPOSE 3000
CMD ["aqm", "serve"]
