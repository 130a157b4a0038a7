#!/usr/bin/env bash
# Build the mmcv wheel (with its compiled CPU ops) against the torch in $PYTHON's environment
# and store it in a cache folder keyed by the mmcv, torch and Python versions.
#
# Why a project script: PyPI ships mmcv 2.1.0 only as source, its setup.py asks for
# -std=c++17, and torch >= 2.14's headers refuse anything below C++20. We raise that one flag
# and leave the rest of mmcv's build untouched. pip's own wheel cache keys the built wheel by
# the source package only, so a wheel built against another torch would be silently reused:
# this cache keys it by the torch version instead.
#
# Usage: build_mmcv.sh PYTHON CACHE_DIR     (prints the wheel's path on its last line)
set -euo pipefail

# Absolute paths (the build runs in another folder); not realpath, which would leave the venv.
PYTHON="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
mkdir -p "$2"
CACHE_DIR="$(cd "$2" && pwd)"
MMCV_VERSION=${MMCV_VERSION:-2.1.0}

key=$("$PYTHON" - <<PY
import platform, sys, torch
print(f"mmcv-${MMCV_VERSION}_torch-{torch.__version__}_cp{sys.version_info.major}{sys.version_info.minor}_{platform.machine()}")
PY
)
wheel_dir="$CACHE_DIR/wheels/$key"
if compgen -G "$wheel_dir/mmcv-*.whl" >/dev/null; then
    echo "mmcv: reusing cached wheel in $wheel_dir" >&2
    ls "$wheel_dir"/mmcv-*.whl
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mmcv-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$CACHE_DIR/logs/$key.log"
mkdir -p "$(dirname "$log")"

echo "mmcv: no cached wheel for $key; building from source (about 30 min on 2 cores)." >&2
echo "mmcv: full build log: $log" >&2
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$work" 2>&1 \
    | grep -v "is ignored: it is neither" >&2 || true
tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
src="$work/mmcv-$MMCV_VERSION"

# The one change: torch >= 2.14 needs C++20 ("#error C++20 or later compatible compiler is
# required to use ATen"). C++20 is a superset for mmcv's sources; measured to build and run.
torch_major_minor=$("$PYTHON" -c "import torch; print('.'.join(torch.__version__.split('.')[:2]))")
if "$PYTHON" -c "import sys; sys.exit(0 if tuple(map(int, '$torch_major_minor'.split('.'))) >= (2, 14) else 1)"; then
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    grep -q -- '-std=c++20' "$src/setup.py" || { echo "mmcv: could not raise the C++ standard in setup.py" >&2; exit 1; }
fi

# ninja prints "[k/N] c++ ..." per object: we turn that into a progress line.
echo "mmcv: compiling its C++ ops with MAX_JOBS=${MAX_JOBS:-2}" >&2
start=$(date +%s)
(
    cd "$src"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} FORCE_CUDA=0 \
        "$PYTHON" -m pip wheel --no-build-isolation --no-deps -v . -w "$work/dist"
) > "$log" 2>&1 &
pid=$!
last=""
while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    step=$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$log" | tail -1 | tr -d ' ' || true)
    if [ -n "$step" ] && [ "$step" != "$last" ]; then
        echo "mmcv: build step $step after $(( $(date +%s) - start ))s" >&2
        last=$step
    fi
done
if ! wait "$pid"; then
    echo "mmcv: build FAILED; last lines of $log:" >&2
    tail -30 "$log" >&2
    exit 1
fi
echo "mmcv: built in $(( $(date +%s) - start ))s" >&2
mkdir -p "$wheel_dir"
# Move in under a temporary name first so a killed install never leaves half a wheel cached.
for whl in "$work"/dist/mmcv-*.whl; do
    cp "$whl" "$wheel_dir/.$(basename "$whl").part"
    mv "$wheel_dir/.$(basename "$whl").part" "$wheel_dir/$(basename "$whl")"
done
ls "$wheel_dir"/mmcv-*.whl
