"""The configs' recipes as their metafiles state them: the tests check each
config against its ``configs/<folder>/metafile.yml`` entry."""
from pathlib import Path

import yaml

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
#: Entry-point configs that only rename another one.
ALIASES = {
    'hornet_cascade.py': 'cascade-mask-rcnn_hornet-t-gf_fpn_3x_coco.py',
    'hornet_upernet.py': 'upernet_hornet-t-gf_8xb2-160k_ade20k-512x512.py',
}


def load_models(folder):
    """``{config file name: metafile model entry}`` of one config folder,
    aliases included."""
    meta = yaml.safe_load((CONFIGS / folder / 'metafile.yml').read_text())
    models = {Path(m['Config']).name: m for m in meta['Models']}
    for alias, target in ALIASES.items():
        if target in models:
            models[alias] = models[target]
    return models


def recipes(folder):
    """``{config file name: its metafile Metadata}``."""
    return {name: m['Metadata'] for name, m in load_models(folder).items()}
