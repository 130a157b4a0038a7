"""Results tables of the README files, generated from the metafiles.

``configs/<folder>/metafile.yml`` (coco, ade20k, imagenet, gnconv) are the
single source of the published results, params, FLOPs and weights. This
script writes one table per folder between ``<!-- results:NAME -->`` and
``<!-- /results:NAME -->`` in ``README.md`` and in ``configs/NAME/README.md``.

Examples:
    python tools/misc/metafile_tables.py           # print the tables
    python tools/misc/metafile_tables.py --write   # update the README files
    python tools/misc/metafile_tables.py --check   # exit 1 if one is stale
"""
import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ('coco', 'ade20k', 'imagenet', 'gnconv')


def load_metafile(folder: str) -> dict:
    """``configs/<folder>/metafile.yml`` as a dict."""
    return yaml.safe_load(
        (ROOT / 'configs' / folder / 'metafile.yml').read_text())


def _metrics(model: dict) -> dict:
    out = {}
    for result in model.get('Results', []):
        out.update(result['Metrics'])
    return out


def _number(value, unit: float, suffix: str) -> str:
    if value is None:
        return '-'
    # Figures published rounded (80M, 730G) stay rounded.
    digits = 0 if value % unit == 0 or value >= 100 * unit else 1
    return f'{value / unit:.{digits}f}{suffix}'


def _weights(model: dict) -> str:
    return f'[weights]({model["Weights"]})' if model.get('Weights') else '-'


def _config(model: dict) -> str:
    path = model['Config']
    return f'[{Path(path).stem}]({path})'


COLUMNS = {
    'coco': [('config', _config),
             ('backbone', lambda m: m['Metadata']['Backbone']),
             ('neck', lambda m: m['Metadata']['Neck']),
             ('epochs', lambda m: str(m['Metadata']['Epochs'])),
             ('box AP', lambda m: str(_metrics(m).get('box AP', '-'))),
             ('mask AP', lambda m: str(_metrics(m).get('mask AP', '-')))],
    'ade20k':
    [('config', _config), ('backbone', lambda m: m['Metadata']['Backbone']),
     ('head', lambda m: m['Metadata']['Decode Head']),
     ('crop', lambda m: 'x'.join(map(str, m['Metadata']['Crop Size']))),
     ('mIoU', lambda m: str(_metrics(m).get('mIoU', '-'))),
     ('mIoU (ms+flip)', lambda m: str(_metrics(m).get('mIoU(ms+flip)', '-')))],
    'gnconv':
    [('config', _config),
     ('host config', lambda m: f"`{m['Metadata']['Host Config']}`"),
     ('backbone', lambda m: m['Metadata']['Backbone']),
     ('decoder', lambda m: m['Metadata']['Decoder']),
     ('host params',
      lambda m: _number(m['Metadata']['Host Parameters'], 1e6, 'M')),
     ('host FLOPs', lambda m: _number(m['Metadata']['Host FLOPs'], 1e9, 'G'))],
    'imagenet':
    [('config', _config), ('backbone', lambda m: m['Metadata']['Backbone']),
     ('top-1 (paper)', lambda m: str(_metrics(m).get('Top 1 Accuracy', '-'))),
     ('top-1 (the weights)',
      lambda m: str(m['Metadata'].get('Weights Top 1 Accuracy', '-')))],
}
TAIL = [('params',
         lambda m: _number(m['Metadata'].get('Parameters'), 1e6, 'M')),
        ('FLOPs', lambda m: _number(m['Metadata'].get('FLOPs'), 1e9, 'G')),
        ('weights', _weights)]


def table(folder: str, prefix: str = '') -> str:
    """The markdown table of one folder; config links get ``prefix``."""
    columns = COLUMNS[folder] + TAIL
    rows = [
        '| ' + ' | '.join(name for name, _ in columns) + ' |',
        '|' + '|'.join('---' if i == 0 else '---:' if name not in (
            'backbone', 'neck', 'head', 'host config', 'decoder') else '---'
                       for i, (name, _) in enumerate(columns)) + '|'
    ]
    for model in load_metafile(folder)['Models']:
        cells = [fn(model) for _, fn in columns]
        cells[0] = cells[0].replace('](', f']({prefix}', 1)
        rows.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)


def _replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(
        rf'(<!-- results:{name} -->\n)(?:.*?\n)?(<!-- '
        rf'/results:{name} -->)', re.S)
    if not pattern.search(text):
        raise ValueError(f'no <!-- results:{name} --> ... <!-- '
                         f'/results:{name} --> block')
    return pattern.sub(lambda m: m.group(1) + body + '\n' + m.group(2), text)


def updated_readmes() -> dict:
    """``{path: text}`` of the README files with their tables regenerated.

    Config links are relative to each README: ``configs/coco/x.py`` in the
    top-level one, ``x.py``-relative (``../../configs/...`` stripped) in a
    folder's own.
    """
    out = {}
    top = ROOT / 'README.md'
    text = top.read_text()
    for folder in FOLDERS:
        text = _replace(text, folder, table(folder))
    out[top] = text
    for folder in FOLDERS:
        path = ROOT / 'configs' / folder / 'README.md'
        body = table(folder).replace(f'](configs/{folder}/', '](')
        out[path] = _replace(path.read_text(), folder, body)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='README results tables from configs/*/metafile.yml')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--write',
        action='store_true',
        help='update the README files in place')
    group.add_argument(
        '--check',
        action='store_true',
        help='exit 1 if a README table differs from the '
        'metafiles')
    args = parser.parse_args(argv)
    readmes = updated_readmes()
    if args.write:
        for path, text in readmes.items():
            path.write_text(text)
        return 0
    if args.check:
        stale = [
            str(p.relative_to(ROOT)) for p, t in readmes.items()
            if p.read_text() != t
        ]
        if stale:
            sys.stderr.write('stale results tables (run tools/misc/'
                             f'metafile_tables.py --write): {stale}\n')
        return int(bool(stale))
    for folder in FOLDERS:
        sys.stdout.write(f'{folder}\n{table(folder)}\n\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
