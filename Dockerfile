# Portico in a container (examples/cluster/README.md, deploy/k8s/). The build stage is a fresh
# Debian 12 running the repository's own set-up steps: scripts/deps.sh (the Debian packages),
# then the CMake build of build/portico. The run-time stage is debian:12-slim with the binary and
# its shared libraries only (the binary carries its protos; it reads nothing else from the tree).
#
#   docker build -t portico .
#   docker run --rm -p 8080:8080 portico                        # deploy/portico.yaml, file store
#   docker run --rm --network host -v $PWD/examples/cluster:/etc/portico/cluster:ro portico \
#          --config /etc/portico/cluster/replica-a.yaml         # a replica of the cluster example
FROM debian:12 AS build
WORKDIR /src
# deps.sh first, alone: its layer is cached until the package list changes. It installs the test
# and bench tools too (one list for every use); they stay in this stage.
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh
COPY . .
RUN cmake --preset default && cmake --build --preset default --target portico -j"$(nproc)" \
 && strip --strip-debug build/portico

FROM debian:12-slim
# ldd build/portico, as Debian 12 packages; curl for the probes (deploy/k8s/deployment.yaml).
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libc-ares2 libre2-9 libssl3 \
      libnghttp2-14 libhiredis0.14 libyaml-cpp0.7 zlib1g ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/portico --create-home portico
COPY --from=build /src/build/portico /usr/local/bin/portico
COPY deploy/portico.yaml /etc/portico/portico.yaml
USER 10001
WORKDIR /var/lib/portico
# Data plane, admin (the default config keeps admin on loopback: docker exec, or a config with a token).
EXPOSE 8080 9901
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/portico"]
CMD ["--config", "/etc/portico/portico.yaml"]
