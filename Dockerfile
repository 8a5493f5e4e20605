# syntax=docker/dockerfile:1
# The operator's image: one static binary, CA certificates and a passwd naming the non-root user it
# runs as, on an empty base. hack/image.sh assembles the same image without a Docker engine.
#
#   docker build -t cloudlink:0.1.0 .
#   docker run --rm cloudlink:0.1.0 crd        # the CRDs, as YAML
#   docker build --build-arg CLOUDLINK_FEATURES=otel -t cloudlink:0.1.0-otel .   # with OpenTelemetry export

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# Every member of the workspace: cargo reads them all to build one.
COPY crates ./crates
COPY hack/image.sh ./hack/image.sh
# `--build-arg CLOUDLINK_FEATURES=otel`: with OpenTelemetry export (README, "Tracing (OpenTelemetry)").
ARG CLOUDLINK_FEATURES=""
# A fully static glibc build (crt-static): it needs no libc in the image. The rootfs step refuses a
# dynamically linked binary.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    binary=$(hack/image.sh binary) \
 && hack/image.sh rootfs /rootfs "$binary"

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/usr/local/bin/cloudlink"]
CMD ["run"]
LABEL org.opencontainers.image.title="cloudlink" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.description="Kubernetes operator for cloud network-access resources"
