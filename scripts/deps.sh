#!/usr/bin/env bash
# scripts/deps.sh — installs what a fresh Debian machine lacks to build and test lens:
# the -dev packages (apt-get, only the missing ones) and a Python venv (.venv) with the
# test tools. Safe to run again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS="build-essential pkg-config libcjson-dev libpcre2-dev libopenblas-openmp-dev libzmq3-dev
      libssl-dev uuid-dev libcurl4-openssl-dev python3-venv chromium clang"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "deps: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "deps: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.lens-deps
reqs=tests/requirements.txt
if [ ! -f "$stamp" ] || ! cmp -s "$reqs" "$stamp"; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r "$reqs"
    cp "$reqs" "$stamp"
fi
# papermill's translator for the lens language (python/lens-papermill)
pm_stamp=.venv/.lens-papermill
if [ ! -f "$pm_stamp" ] || [ -n "$(find python/lens-papermill -newer "$pm_stamp" -print -quit)" ]; then
    .venv/bin/python -m pip install -q --no-deps --no-build-isolation ./python/lens-papermill
    rm -rf python/lens-papermill/build python/lens-papermill/*.egg-info
    touch "$pm_stamp"
fi
echo "deps: ready"
