#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: runs notebooks/demo.ipynb headless through the lens
# kernel (nbclient), with the best model available: gpt2-small when its weights are
# found (LENS_MODELS_DIR, models/, or the Hugging Face cache), else the small trained
# model in models/lens-tinystories-16m. Writes build/demo/demo.ipynb (executed) and
# build/demo/demo.html, and prints every text output. LENS_DEMO_MODEL overrides the choice.
set -euo pipefail
cd "$(dirname "$0")/.."
lens=$(pwd)/${1:-build/lens}
if [ ! -x .venv/bin/python ]; then
    echo "demo: no .venv; run 'make deps' first" >&2
    exit 1
fi
if [ -z "${LENS_DEMO_MODEL:-}" ]; then
    if "$lens" resolve gpt2-small >/dev/null 2>&1; then
        LENS_DEMO_MODEL=gpt2-small
    else
        LENS_DEMO_MODEL=$(pwd)/models/lens-tinystories-16m
    fi
fi
export LENS_DEMO_MODEL
echo "demo: model $LENS_DEMO_MODEL ($("$lens" resolve "$LENS_DEMO_MODEL"))"
out=build/demo
mkdir -p "$out"
LENS_BIN="$lens" .venv/bin/python - "$out" <<'PY'
import json, os, sys, tempfile
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

out = sys.argv[1]
spec_root = tempfile.mkdtemp(prefix="lens-demo-")
os.makedirs(os.path.join(spec_root, "kernels", "lens"))
with open(os.path.join(spec_root, "kernels", "lens", "kernel.json"), "w") as f:
    json.dump({"argv": [os.environ["LENS_BIN"], "kernel", "-f", "{connection_file}"],
               "display_name": "lens", "language": "lens", "interrupt_mode": "signal"}, f)
os.environ["JUPYTER_PATH"] = spec_root + os.pathsep + os.environ.get("JUPYTER_PATH", "")
nb = nbformat.read("notebooks/demo.ipynb", as_version=4)
NotebookClient(nb, kernel_name="lens", timeout=1800).execute()
nbformat.write(nb, os.path.join(out, "demo.ipynb"))
html, _ = HTMLExporter().from_notebook_node(nb)
with open(os.path.join(out, "demo.html"), "w") as f:
    f.write(html)
figures = 0
for i, cell in enumerate(nb.cells):
    if cell.cell_type != "code":
        continue
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            print(o.text, end="")
        elif o.output_type in ("execute_result", "display_data"):
            data = o.get("data", {})
            if "application/vnd.plotly.v1+json" in data:
                figures += 1
            print(data.get("text/plain", ""))
print(f"\ndemo: {len(nb.cells)} cells ran, {figures} figures; wrote {out}/demo.ipynb and {out}/demo.html")
PY
