# HistoAE: the `histoae serve` HTTP service in a slim Debian 12 image (deploy/README.md).
#
#   docker build -t histoae:1.0.0 --build-arg VERSION=1.0.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --rm -p 8080:8080 --cpus 2 -e HISTOAE_WORKERS=2 histoae:1.0.0
#
# Both stages are Debian 12 (bookworm), so the binary links exactly the library versions it was built against.
# Every setting is an environment variable (`histoae serve --help`); the default model is baked in at
# /app/models/default. scripts/check-deploy.sh lints this file and checks that the runtime stage installs
# exactly the packages of the binary's shared libraries (scripts/check-runtime-libs.sh).

# ---- build: Swift 6.3 toolchain + the -dev packages Package.swift links ---------------------------------------
FROM swift:6.3.1-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's archive keeps only the current version of each package, so exact pins would break the build at the
# next security update; the base image's version pins the release (bookworm) instead.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas-dev libpng-dev libjpeg-dev libopenslide-dev libsqlite3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Package.resolved is used when present (it is not committed); the glob lets the COPY succeed without it.
COPY Package.swift Package.resolve[d] ./
# Package.swift declares the test targets, so their folders must exist for the package to load.
COPY Sources ./Sources
COPY Tests ./Tests
# The Swift runtime and Foundation are linked statically: the runtime stage needs no Swift toolchain, only
# the C libraries. The build cache survives between builds (BuildKit); the binary is copied out of it.
RUN --mount=type=cache,id=histoae-swiftpm,target=/src/.build \
    swift build -c release --product histoae --static-swift-stdlib \
 && install -D -m 0755 "$(swift build -c release --product histoae --static-swift-stdlib --show-bin-path)/histoae" \
      /out/app/bin/histoae \
 && /out/app/bin/histoae --help >/dev/null

# ---- runtime: Debian 12 slim + the shared libraries histoae links, nothing else ------------------------------
FROM debian:12.12-slim AS runtime
ARG VERSION=1.0.0
ARG REVISION=unknown
ARG CREATED=unknown
# Where the source lives: docker build --build-arg SOURCE="$(git remote get-url origin)" ...
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="HistoAE" \
      org.opencontainers.image.description="Anomaly scoring of 150x150 H&E histopathology patches with a convolutional autoencoder (HTTP service)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.documentation="deploy/README.md in the source" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="HistoAE" \
      org.opencontainers.image.base.name="debian:12.12-slim"
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The runtime packages of the binary's shared libraries (libc6, libgcc-s1, libstdc++6 and zlib1g are already in
# the base image). scripts/check-runtime-libs.sh parses this list and fails if a library's package is missing
# here or a package here provides none of them: OpenBLAS (pthread flavour, as libopenblas-dev pulls in) with its
# Fortran runtime, libpng, libjpeg-turbo, and OpenSlide (`histoae scan`) with every library it loads — its
# readers (libtiff, OpenJPEG, libxml2, SQLite, gdk-pixbuf), cairo and glib, and theirs. Some of the latter are
# already in debian:12-slim; the check wants each one the binary loads named, so they are. Not pinned exactly:
# see the build stage.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libopenblas0-pthread \
      libgfortran5 \
      libquadmath0 \
      libpng16-16 \
      libjpeg62-turbo \
      libopenslide0 \
      libblkid1 \
      libbrotli1 \
      libbsd0 \
      libcairo2 \
      libdeflate0 \
      libexpat1 \
      libffi8 \
      libfontconfig1 \
      libfreetype6 \
      libgdk-pixbuf-2.0-0 \
      libglib2.0-0 \
      libicu72 \
      libjbig0 \
      liblerc4 \
      liblzma5 \
      libmd0 \
      libmount1 \
      libopenjp2-7 \
      libpcre2-8-0 \
      libpixman-1-0 \
      libselinux1 \
      libsqlite3-0 \
      libtiff6 \
      libwebp7 \
      libx11-6 \
      libxau6 \
      libxcb-render0 \
      libxcb-shm0 \
      libxcb1 \
      libxdmcp6 \
      libxext6 \
      libxml2 \
      libxrender1 \
      libzstd1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 histoae \
 && useradd --uid 10001 --gid histoae --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin histoae
# The binary at /app/bin and the default model at /app/models/default, where histoae looks for it (beside or
# above the executable); root-owned and read-only for the service user.
COPY --from=build /out/app/bin/histoae /app/bin/histoae
COPY models/default/model.json models/default/model.safetensors /app/models/default/
ENV HISTOAE_HOST=0.0.0.0 \
    HISTOAE_PORT=8080 \
    HISTOAE_MODEL=/app/models/default \
    HISTOAE_LOG_FORMAT=text
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# SIGTERM: stop accepting, answer accepted requests within HISTOAE_DRAIN_TIMEOUT_S (default 30 s), exit 0.
STOPSIGNAL SIGTERM
# GET /healthz with bash's /dev/tcp: no curl or wget in the image. Kubernetes uses its own probes instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\"${HISTOAE_PORT:-8080}\" && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 2 status <&3 && [[ $status == 'HTTP/1.1 200'* ]]"]
ENTRYPOINT ["/app/bin/histoae", "serve"]
