# Multi-stage build of the regionctl controller. (No Docker engine runs on our build
# machines; this file is kept simple and is linted by reading. Deployment templates and a
# tested image are future work.)
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin regionctl

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home regionctl
COPY --from=build /src/target/release/regionctl /usr/local/bin/regionctl
COPY policies /etc/regionctl/policies
USER 10001
EXPOSE 9400
HEALTHCHECK --interval=15s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9400 && printf 'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3 && grep -q 200 <&3"]
ENTRYPOINT ["/usr/local/bin/regionctl"]
CMD ["run", "--policies", "/etc/regionctl/policies", "--admin-addr", "0.0.0.0:9400", "--log-json"]
