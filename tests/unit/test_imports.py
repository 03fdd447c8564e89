"""Every module of the project imports on its own, first: a circular import shows only
when a command happens to import the cycle's other end first (`justnet token create`
imported gateway.accounts before the console and failed while every test passed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import importlib, pkgutil, sys
failed = []
names = []
for package in ("gateway", "services"):
    root = importlib.import_module(package)
    names += [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
names = [n for n in names if ".migrations." not in n and not n.endswith("__main__")]
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("gateway", "services")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names))
print("\\n".join(failed))
"""


def test_every_module_imports_first() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    count, *failed = done.stdout.splitlines()
    assert int(count) > 100
    assert not [line for line in failed if line], failed
