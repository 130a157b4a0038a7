"""The README's marked code examples run as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / 'README.md'


def _examples():
    text = README.read_text()
    return dict(
        re.findall(r'<!-- example:(\S+) -->\n```python\n(.*?)```', text, re.S))


def test_examples_are_found():
    assert 'gnconv' in _examples()


@pytest.mark.parametrize('name', sorted(_examples()))
def test_example_runs(name):
    exec(compile(_examples()[name], f'README.md:{name}', 'exec'), {})
