#!/usr/bin/env bash
# tests/gpu/fetch-deps.sh — downloads the engine's library packages (cJSON, PCRE2,
# OpenBLAS and their runtime needs) as .deb files into tests/gpu/deps/, on a
# machine where apt works, for a GPU machine that has a compiler and nvcc but
# neither these -dev packages nor a network: tests/gpu/run.sh unpacks them into a
# private folder and builds against it. The folder is git-ignored.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p deps
cd deps
apt-get download libcjson1 libcjson-dev libpcre2-8-0 libpcre2-dev libopenblas0-openmp libopenblas-openmp-dev \
    libgfortran5 libquadmath0
ls -l ./*.deb
