"""The g^nConv cost cases: what they build, what the counts say, and the
tables in the order of the cases."""
import dataclasses

import pytest

from mmhornet.analysis.decoders import (cost_cases, cost_table, count_case,
                                        time_cases, time_table)
from mmhornet.models import GnConvPlugin

SMALL = (64, 96)


def _small(group_prefix):
    return [
        dataclasses.replace(c, shape=SMALL) for c in cost_cases()
        if c.group.startswith(group_prefix)
    ]


def test_every_group_starts_with_the_hosts_module():
    groups = {}
    for case in cost_cases():
        groups.setdefault(case.group, []).append(case.name)
    assert [names[0] for names in groups.values()
            ] == ['FPN', 'FPN', 'UPerHead', 'UPerHead', 'ResNet-50']
    assert all(len(names) >= 3 for names in groups.values())


def test_fpn_counts():
    reports = {(c.group, c.name): count_case(c) for c in _small('neck on R')}
    fpn, dw, gf = reports.values()
    # g^nConv blocks replace the 3x3 output convs: fewer MACs and params.
    assert dw.conv_linear < fpn.conv_linear and dw.params < fpn.params
    assert gf.fft > 0 and dw.fft == 0 and fpn.fft == 0
    table = cost_table(reports).splitlines()
    assert table[2].startswith('| **neck on ResNet-50')
    assert table[3].startswith('| FPN |') and table[3].endswith(
        '| 1.00x | 1.00x |')
    assert table[4].startswith('| HorFPN (7x7) |')


def test_plugin_params_are_the_plugins():
    cases = _small('backbone')[:2]
    base, plugged = (count_case(c) for c in cases)
    widths = [128] * 4 + [256] * 6 + [512] * 3  # after conv2, c3-c5
    expected = sum(
        sum(p.numel() for p in GnConvPlugin(w).parameters()) for w in widths)
    assert plugged.params - base.params == expected
    assert plugged.conv_linear > base.conv_linear


def test_times_follow_the_cases_order():
    cases = _small('neck on H')
    times = time_cases(cases, repeats=2, warmup=1)
    assert list(times) == [(c.group, c.name) for c in cases]
    assert all(len(t) == 2 and min(t) > 0 for t in times.values())
    rows = time_table(times).splitlines()
    assert [r.split(' |')[0]
            for r in rows[3:]] == [f'| {c.name}' for c in cases]
    assert rows[3].endswith('| 1.00x |')


@pytest.mark.parametrize('name', ['HorFPN (GF)', 'HorUPerHead (GF)'])
def test_gf_cases_use_the_configs_filter(name):
    case = next(c for c in cost_cases() if c.name == name)
    assert case.cfg['gnconv_cfg']['mixer_cfg'] == dict(type='GF', h=32, w=17)
