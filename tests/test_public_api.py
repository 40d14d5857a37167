"""Every public module states its public names in ``__all__``, and they all exist (issue 18).

A public module is one whose dotted path has no component starting with ``_``.
Its public names are the functions and classes it defines itself, or takes from
one of its own private modules (``sepconv.nn`` from ``sepconv.nn._layers``): each
must be in ``__all__``, and every name in ``__all__`` must resolve.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import sepconv

OPTIONAL = {
    "sepconv.torch": "torch",
    "sepconv.nn": "torch",
    "sepconv.nn.functional": "torch",
    "sepconv.dask": "dask",
    "sepconv.report": "matplotlib",
    "sepconv.plot": "matplotlib",
    "sepconv.study": "torch",
}


def _public_modules() -> list[str]:
    names = ["sepconv"]
    for info in pkgutil.walk_packages(sepconv.__path__, "sepconv."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _owns(module_name: str, obj: object) -> bool:
    """``obj`` is defined in the module or in one of its private submodules."""
    home = getattr(obj, "__module__", None) or ""
    if home == module_name:
        return True
    if not home.startswith(module_name + "."):
        return False
    rest = home[len(module_name) + 1 :].split(".")
    return rest[0].startswith("_")


@pytest.mark.parametrize("name", _public_modules())
def test_all_lists_every_public_name_and_only_existing_ones(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    exported = set(module.__all__)
    for entry in exported:
        assert hasattr(module, entry), f"{name}.__all__ names {entry!r}, which does not exist"
    missing = sorted(
        attr
        for attr, obj in vars(module).items()
        if not attr.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and _owns(name, obj)
        and attr not in exported
    )
    assert not missing, f"{name} defines public names missing from __all__: {missing}"


def test_profile_is_lazy_and_outside_star_imports():
    # sepconv.profile needs PyTorch: it loads on first use and stays out of __all__,
    # so that ``from sepconv import *`` never needs PyTorch (a documented choice).
    assert "profile" not in sepconv.__all__
    assert "profile" in dir(sepconv)
