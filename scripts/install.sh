#!/usr/bin/env bash
# scripts/install.sh — installs the lens binary and its Jupyter kernelspec for this user.
# Usage: scripts/install.sh BUILD/lens PREFIX   (make install calls it)
# The binary goes to PREFIX/bin/lens; the kernelspec (kernelspec/kernel.json.in with
# the binary's absolute path filled in, and the logos) is installed with
# `jupyter kernelspec install --user` when jupyter is on PATH, else copied into
# ~/.local/share/jupyter/kernels/lens.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD/lens PREFIX" >&2
    exit 2
fi
bin_src=$1
prefix=$2
if [ ! -x "$bin_src" ]; then
    echo "install: $bin_src is not built (run make first)" >&2
    exit 1
fi

mkdir -p "$prefix/bin"
install -m 0755 "$bin_src" "$prefix/bin/lens"
lens_bin=$(cd "$prefix/bin" && pwd)/lens

spec=$(mktemp -d)
trap 'rm -rf "$spec"' EXIT
mkdir -p "$spec/lens"
# the path may hold characters special to sed; escape them
escaped=$(printf '%s' "$lens_bin" | sed -e 's/[\\&|]/\\&/g' -e 's/"/\\\\"/g')
sed "s|@LENS_BIN@|$escaped|" kernelspec/kernel.json.in >"$spec/lens/kernel.json"
cp kernelspec/logo-32x32.png kernelspec/logo-64x64.png kernelspec/logo-svg.svg "$spec/lens/"

if command -v jupyter >/dev/null 2>&1 && jupyter kernelspec --help >/dev/null 2>&1; then
    jupyter kernelspec install --user --replace --name lens "$spec/lens"
else
    dest=${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/kernels/lens
    mkdir -p "$dest"
    cp "$spec/lens/"* "$dest/"
    echo "installed the lens kernelspec in $dest"
fi
echo "installed $lens_bin"
