#!/usr/bin/env bash
# mmhornet on one GPU, in under 8 minutes: every step below runs even if an
# earlier one failed; the script exits 1 if any did.
#   1. device tests on CUDA (tests/test_models/test_on_device.py): fp32 parity
#      with mmpretrain, fp16 and bf16 autocast through the GF path's FFT,
#      .half() weights;
#   2. tools/analysis/benchmark.py --device cuda, HorNet-T and T-GF against
#      mmpretrain's: fp32, AMP fp16 and AMP bf16 (peak memory, the GPU's own
#      GEMM peaks, each case's fraction of its dtype's peak);
#   3. whole models with AMP (fp16): two train iterations of the T-GF Cascade
#      Mask R-CNN at 800x1333 beside mmdet's ConvNeXt-T config, and the T
#      detectors and segmentors against mmpretrain's HorNet-T and ConvNeXt-T
#      (train and inference).
# Logs, JSON and a summary (steps.txt) go to OUT_DIR.
#
# Usage: tools/analysis/gpu_check.sh [OUT_DIR]     (default work_dirs/gpu_check)
# Environment: PYTHON (python), DEVICE (cuda), BATCH (64: backbone images per
#              step), REPEATS (10: timed rounds), STEP_TIMEOUT (300 s a step).
set -uo pipefail
cd "$(dirname "$0")/../.."

OUT=${1:-work_dirs/gpu_check}
PYTHON=${PYTHON:-python}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-64}
REPEATS=${REPEATS:-10}
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
mkdir -p "$OUT"
: > "$OUT/steps.txt"
failed=0

# step NAME COMMAND...: run COMMAND, its output to OUT/NAME.log; one line in
# OUT/steps.txt: NAME, ok or FAIL (exit code), seconds.
step() {
    local name=$1 start rc
    shift
    echo "=== $name: $*"
    start=$(date +%s)
    timeout "$STEP_TIMEOUT" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "$name ok $(($(date +%s) - start))s" | tee -a "$OUT/steps.txt"
    else
        failed=1
        echo "$name FAIL (exit $rc) $(($(date +%s) - start))s" | tee -a "$OUT/steps.txt"
        tail -n 20 "$OUT/$name.log"
    fi
}

BENCH=(tools/analysis/benchmark.py --device "$DEVICE" --archs tiny tiny-gf
       --det-archs tiny tiny-gf --batch "$BATCH" --repeats "$REPEATS" --warmup 2)

step device_tests env MMHORNET_TEST_DEVICE="$DEVICE" \
    "$PYTHON" -m pytest tests/test_models/test_on_device.py -q -rs
step backbone_fp32 "$PYTHON" "${BENCH[@]}" --json "$OUT/backbone_fp32.json"
step backbone_amp_fp16 "$PYTHON" "${BENCH[@]}" --amp --amp-dtype fp16 \
    --json "$OUT/backbone_amp_fp16.json"
step backbone_amp_bf16 "$PYTHON" "${BENCH[@]}" --amp --amp-dtype bf16 \
    --json "$OUT/backbone_amp_bf16.json"
step cascade_t-gf_amp_train "$PYTHON" tools/analysis/benchmark.py --device "$DEVICE" \
    --whole --whole-variant t-gf --whole-tasks det --modes train \
    --repeats 2 --warmup 0 --amp --amp-dtype fp16 --json "$OUT/cascade_t-gf_amp_train.json"
step whole_t_amp "$PYTHON" tools/analysis/benchmark.py --device "$DEVICE" \
    --whole --repeats 3 --warmup 1 --amp --amp-dtype fp16 --json "$OUT/whole_t_amp.json"

echo "=== summary ($OUT/steps.txt)"
cat "$OUT/steps.txt"
exit $failed
