"""Build glue: cffi_modules cannot be declared in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["build_epoll.py:ffibuilder"])
