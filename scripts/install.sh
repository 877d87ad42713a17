#!/usr/bin/env bash
# scripts/install.sh — installs the lens binary and its Jupyter kernelspec for this user.
# Usage: scripts/install.sh BUILD/lens PREFIX   (make install calls it)
# The binary goes to PREFIX/bin/lens; the kernelspec (kernelspec/kernel.json.in with
# the binary's absolute path filled in, and the logos) is installed with
# `jupyter kernelspec install --user` when jupyter is on PATH, else copied into
# ~/.local/share/jupyter/kernels/lens. The models shipped in models/ go to
# PREFIX/share/lens/models, where the installed binary finds them by name from any
# folder. With VENV set (make install sets it to the project's .venv, when there is
# one), papermill's lens translator (python/lens-papermill) is installed into it and
# its plotly package's plotly.min.js is copied to PREFIX/share/lens.
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

# the shipped models, beside the binary: PREFIX/share/lens/models/NAME
models_dest=$prefix/share/lens/models
for m in models/*/; do
    [ -f "$m/config.json" ] || continue
    name=$(basename "$m")
    mkdir -p "$models_dest/$name.tmp"
    for f in config.json model.safetensors vocab.json merges.txt tokenizer.json; do
        [ -f "$m/$f" ] && cp "$m/$f" "$models_dest/$name.tmp/"
    done
    rm -rf "$models_dest/$name"
    mv "$models_dest/$name.tmp" "$models_dest/$name"
    echo "installed model $name in $models_dest"
done

# plotly.js for the HTML form of figures, where the installed binary looks for it
# (PREFIX/share/lens/plotly.min.js), from the venv's plotly package when it has one
if [ -n "${VENV:-}" ]; then
    for js in "$VENV"/lib/python3*/site-packages/plotly/package_data/plotly.min.js; do
        [ -f "$js" ] || continue
        mkdir -p "$prefix/share/lens"
        install -m 0644 "$js" "$prefix/share/lens/plotly.min.js"
        echo "installed plotly.js in $prefix/share/lens"
        break
    done
fi

if [ -n "${VENV:-}" ] && [ -x "$VENV/bin/python" ]; then
    # built from the source tree with the venv's setuptools (no download)
    "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation ./python/lens-papermill
    rm -rf python/lens-papermill/build python/lens-papermill/*.egg-info
    echo "installed lens-papermill (papermill's lens translator) into $VENV"
fi
echo "installed $lens_bin"
