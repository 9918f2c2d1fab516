#!/usr/bin/env bash
# Install the system tools the benchmarks use (Debian/Ubuntu), only those that are missing.
#   wrk             HTTP load generator            (bench http_lookup)
#   etcd-server     etcd, the HTTP baseline        (bench http_lookup)
#   nghttp2-client  h2load, the gRPC load generator (bench grpc_unary)
# Idempotent: does nothing when every tool is already on PATH. Needs root (or sudo).
set -euo pipefail

declare -A package_of=([wrk]=wrk [etcd]=etcd-server [h2load]=nghttp2-client [git]=git)
missing=()
for tool in wrk etcd h2load git; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "bench tools already installed: wrk etcd h2load git"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "run as root: apt-get install -y ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
