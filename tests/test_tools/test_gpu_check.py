"""tools/analysis/gpu_check.sh without a GPU: the commands it runs (every
benchmark command parsed by the benchmark's own argument parser), the device
the tests are pointed at, its summary, and that one failing step fails the
script without stopping the others. The Python it calls is a stand-in that
records its arguments."""
import os
import shlex
import subprocess
import sys

from .helpers import REPO, tool_env

SCRIPT = os.path.join(REPO, 'tools', 'analysis', 'gpu_check.sh')
STEPS = [
    'device_tests', 'backbone_fp32', 'backbone_amp_fp16', 'backbone_amp_bf16',
    'cascade_t-gf_amp_train', 'whole_t_amp'
]


def _run(tmp_path, fail_on=''):
    record = tmp_path / 'calls.txt'
    fake = tmp_path / 'python'
    fake.write_text('#!/usr/bin/env bash\n'
                    'echo "${MMHORNET_TEST_DEVICE:--}|$*" >> "$RECORD"\n'
                    'case "$*" in *"$FAIL_ON"*) [ -n "$FAIL_ON" ] && '
                    '{ echo "it broke"; exit 3; };; esac\n'
                    'exit 0\n')
    fake.chmod(0o755)
    out = tmp_path / 'out'
    proc = subprocess.run(['bash', SCRIPT, str(out)],
                          cwd=tmp_path,
                          env=tool_env(
                              PYTHON=str(fake),
                              RECORD=str(record),
                              FAIL_ON=fail_on),
                          capture_output=True,
                          text=True,
                          timeout=60)
    calls = [line.split('|', 1) for line in record.read_text().splitlines()]
    return proc, calls, out


def test_runs_every_step_on_cuda(tmp_path):
    sys.path.insert(0, os.path.join(REPO, 'tools', 'analysis'))
    try:
        import benchmark
    finally:
        sys.path.pop(0)
    proc, calls, out = _run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(calls) == len(STEPS)
    device, tests = calls[0]
    assert device == 'cuda'
    assert tests.split()[:3] == [
        '-m', 'pytest', 'tests/test_models/test_on_device.py'
    ]
    parsed = []
    for device, command in calls[1:]:
        argv = shlex.split(command)
        assert argv[0] == 'tools/analysis/benchmark.py'
        assert argv[argv.index('--device') + 1] == 'cuda'
        # Flags the benchmark knows (its CUDA check aside).
        argv[argv.index('--device') + 1] = 'cpu'
        parsed.append(benchmark.parse_args(argv[1:]))
    fp32, fp16, bf16, cascade, whole = parsed
    assert not fp32.amp and fp16.amp and bf16.amp
    assert (fp16.amp_dtype, bf16.amp_dtype) == ('fp16', 'bf16')
    assert fp32.archs == ['tiny', 'tiny-gf'] and fp32.batch == [64]
    assert cascade.whole and cascade.whole_variant == 't-gf'
    assert cascade.modes == ['train'] and cascade.repeats == 2
    assert cascade.warmup == 0 and cascade.whole_det_size == [800, 1333]
    assert whole.whole and whole.whole_variant == 't' and whole.amp
    assert all(p.json.startswith(str(out)) for p in parsed)
    summary = (out / 'steps.txt').read_text().splitlines()
    assert [line.split()[:2] for line in summary] == [[s, 'ok'] for s in STEPS]


def test_a_failing_step_fails_the_script_not_the_rest(tmp_path):
    proc, calls, out = _run(tmp_path, fail_on='backbone_amp_fp16.json')
    assert proc.returncode == 1
    assert len(calls) == len(STEPS)
    summary = dict(
        line.split(' ', 1)
        for line in (out / 'steps.txt').read_text().splitlines())
    assert summary['backbone_amp_fp16'].startswith('FAIL (exit 3)')
    assert 'it broke' in proc.stdout
    assert all(
        v.startswith('ok') for k, v in summary.items()
        if k != 'backbone_amp_fp16')
