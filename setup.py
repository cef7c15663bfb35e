"""Build glue: cffi_modules cannot be declared in pyproject.toml.

One wheel serves every CPython from 3.9 up.  cffi builds the extension for
the limited API (it defines ``Py_LIMITED_API`` and marks the extension
``py_limited_api``, hence ``_epoll.abi3.so``) wherever CPython allows it:
not on a debug build, not on a free-threaded one.  setuptools still tags
the wheel for the building Python (``cp311-cp311``) unless told that the
wheel is abi3; ``bdist_wheel`` below tells it exactly when cffi built for the
limited API, so the tag says ``cp39-abi3`` (the oldest Python the project
supports) and PyPy, debug and free-threaded builds keep their own tags.
"""

from __future__ import annotations

import platform

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel

# requires-python's floor: the stable ABI a cp39-abi3 wheel promises.
OLDEST_PYTHON = "cp39"


class bdist_wheel(_bdist_wheel):
    """Tags the wheel ``cp39-abi3`` when every extension uses the limited API."""

    def finalize_options(self) -> None:
        extensions = self.distribution.ext_modules or []
        limited = bool(extensions) and all(getattr(e, "py_limited_api", False) for e in extensions)
        cpython = platform.python_implementation() == "CPython"
        if limited and cpython and not self.py_limited_api:
            self.py_limited_api = OLDEST_PYTHON
        super().finalize_options()


setup(cffi_modules=["build_epoll.py:ffibuilder"], cmdclass={"bdist_wheel": bdist_wheel})
