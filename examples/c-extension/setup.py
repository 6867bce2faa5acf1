import pyawaitable_rs
from setuptools import Extension, setup

setup(
    ext_modules=[Extension("sample", ["sample.c"], **pyawaitable_rs.extension_kwargs(limited=True))],
    # One wheel, cp39-abi3, for CPython 3.9 and later.
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
