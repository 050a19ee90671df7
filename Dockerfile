# One image with the four Bantin executables (bantin-ingest, bantin-extract, bantin-query, bantin).
#   docker build -t bantin:dev .
# deploy/ runs it as user 10001 with a read-only root filesystem; nothing in it needs a shell. The binaries link the
# Swift runtime and Foundation statically, so the runtime stage needs only the three C libraries (checked with ldd on a
# `swift build -c release --static-swift-stdlib` build: libssl3, libprotobuf-c1, libsqlite3-0, plus libc and libstdc++).

ARG SWIFT_VERSION=6.3
FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl-dev libprotobuf-c-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Tests/ only because Package.swift declares the test targets; release builds do not compile them.
COPY Package.swift ./
COPY Sources Sources
COPY Tests Tests
RUN swift build -c release --static-swift-stdlib \
 && mkdir -p /out \
 && for exe in bantin bantin-ingest bantin-extract bantin-query; do strip -o "/out/$exe" ".build/release/$exe"; done \
 # The extractor's lexicons and gazetteer travel as a resource bundle next to the executables.
 && cp -R .build/release/bantin_BantinExtract.resources /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 libprotobuf-c1 libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 bantin \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin bantin
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# RPC ports 7401–7403; operations ports (plain HTTP: /healthz, /readyz, /metrics) 9401–9403.
EXPOSE 7401 7402 7403 9401 9402 9403
ENTRYPOINT ["/usr/local/bin/bantin"]
CMD ["--help"]
