import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
#: What OpenMMLab packages install under ``<package>/.mim/`` for mim and for
#: mmengine's ``pkg::`` config scope.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_version():
    scope = {}
    with open(osp.join(ROOT, 'mmhornet', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Requirement lines of ``requirements/fname``, comments dropped."""
    with open(osp.join(ROOT, 'requirements', fname)) as f:
        return [
            line.split('#')[0].strip() for line in f
            if line.split('#')[0].strip() and not line.startswith('-')
        ]


def add_mim_extension():
    """Put configs, tools and model-index.yml under ``mmhornet/.mim``.

    A development install (``egg_info`` / ``develop``, what
    ``tools/install/install.sh`` runs, or ``editable_wheel`` for
    ``pip install -e .``) links them, so the repo's files are what mim and
    ``mmhornet::`` see; building a wheel or an sdist copies them, so the
    package carries them. Other commands leave ``.mim`` alone.
    """
    commands = set(sys.argv[1:])
    if commands & {'sdist', 'bdist_wheel', 'build', 'build_py'}:
        mode = 'copy'
    elif commands & {'develop', 'editable_wheel', 'egg_info'}:
        mode = 'symlink'
    else:
        return
    mim_dir = osp.join(ROOT, 'mmhornet', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(ROOT, name)
        dst = osp.join(mim_dir, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmhornet',
        version=read_version(),
        description='HorNet and g^nConv for mmdetection, mmsegmentation and '
        'mmpretrain (OpenMMLab 2.0)',
        long_description=open(osp.join(ROOT, 'README.md')).read(),
        long_description_content_type='text/markdown',
        author='mmhornet authors',
        url='https://github.com/mmhornet/mmhornet',
        packages=find_packages(include=('mmhornet', 'mmhornet.*')),
        include_package_data=True,
        # The stack is tested on CPython 3.11 only (tools/install/install.sh).
        python_requires='>=3.11,<3.12',
        license='Apache License 2.0',
        classifiers=[
            'License :: OSI Approved :: Apache Software License',
            'Programming Language :: Python :: 3.11',
            'Topic :: Scientific/Engineering :: Image Recognition',
        ],
        install_requires=parse_requirements('runtime.txt'),
        extras_require={
            'mim': parse_requirements('mminstall.txt'),
            'tests': parse_requirements('tests.txt'),
            'deploy': parse_requirements('deploy.txt'),
        },
        zip_safe=False)
