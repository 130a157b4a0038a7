#!/usr/bin/env bash
# Create .venv/ in the repo root and install mmhornet's pinned stack into it.
#
#   torch 2.14.1 + torchvision 0.29.1   requirements/torch.txt
#   mmcv 2.1.0 with compiled ops        built once by build_mmcv.sh, cached by torch version
#   mmengine, mmdet, mmseg, mmpretrain  requirements/mminstall.txt
#   test, lint and deployment tools     requirements/tests.txt, requirements/deploy.txt
#   mmhornet itself (a development install: the repo on sys.path, mmhornet/.mim links)
#
# Every pip call is constrained to the tested versions (requirements/constraints.txt).
#
# Idempotent: a stamp records a hash of the requirements and install scripts; an unchanged
# environment returns at once. Environment: PYTHON (interpreter for the venv, default python3),
# VENV (default .venv), MMHORNET_CACHE (wheel cache, default ~/.cache/mmhornet).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
CACHE=${MMHORNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmhornet}
STAMP="$VENV/.mmhornet-install"

digest=$(cat requirements.txt requirements/*.txt setup.py tools/install/*.sh | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$digest" ] && [ -x "$VENV/bin/python" ]; then
    echo "install: $VENV is up to date (remove $STAMP to force a reinstall)"
    exit 0
fi

start=$(date +%s)
step() { echo "install: [$1] $2 ($(( $(date +%s) - start ))s)"; }
# pip on this kind of machine warns about absent local index folders: drop that noise only.
pip_q() {
    "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
    return "${PIPESTATUS[0]}"
}

"$PYTHON" - <<'PY' || { echo "install: mmhornet's pinned stack needs Python 3.11 (set PYTHON=python3.11)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY

if [ ! -x "$VENV/bin/python" ]; then
    step 1/5 "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
step 2/5 "torch, torchvision and build tools (about 1.5 min the first time)"
CONSTRAINTS=(-c requirements/constraints.txt)
pip_q install --quiet "${CONSTRAINTS[@]}" -r requirements/torch.txt -r requirements/build.txt

step 3/5 "mmcv 2.1.0 with compiled ops"
if "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
    echo "install: mmcv 2.1.0 with ops already installed"
else
    wheel=$(tools/install/build_mmcv.sh "$VENV/bin/python" "$CACHE" | tail -1)
    pip_q install --quiet --no-deps --force-reinstall "$wheel"
fi

step 4/5 "OpenMMLab packages, test and deployment tools"
pip_q install --quiet "${CONSTRAINTS[@]}" -r requirements/mminstall.txt \
    -r requirements/runtime.txt -r requirements/tests.txt -r requirements/deploy.txt

# A development install, as `setup.py develop` made before setuptools 80: the repo root on
# sys.path (a .pth file) with its mmhornet.egg-info, and mmhornet/.mim linking configs/,
# tools/ and model-index.yml. mmengine (`mmhornet::` configs) and mim find a package's .mim
# folder at its distribution's location; a PEP 660 editable install (`pip install -e .`)
# puts that in site-packages, where no mmhornet/ folder is.
step 5/5 "mmhornet (development install)"
pip_q uninstall --quiet --yes mmhornet >/dev/null 2>&1 || true
"$VENV/bin/python" setup.py --quiet egg_info >/dev/null 2>&1 \
    || "$VENV/bin/python" setup.py egg_info
site_dir=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$ROOT" > "$site_dir/mmhornet-develop.pth"

"$VENV/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmseg, mmpretrain.models, mmhornet, torch
print(f'install: OK: torch {torch.__version__}, mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, '
      f'mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}, mmhornet {mmhornet.__version__}')
PY
echo "$digest" > "$STAMP"
echo "install: done in $(( $(date +%s) - start ))s"
