"""Regenerate the committed protobuf and gRPC code beside each .proto file.

Usage: python scripts/genproto.py [--check]

--check regenerates into a temporary folder and exits 1 when the committed
files differ, so CI catches a .proto edited without regenerating.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out: Path) -> list[Path]:
    sources = sorted(PROTOS.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *[str(s.relative_to(PROTOS)) for s in sources],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated = [p for p in out.rglob("*.py*") if p.name.endswith(SUFFIXES)]
    # Every folder on the way to a generated module is a regular package.
    for folder in {p.parent for p in generated}:
        while folder != out:
            (folder / "__init__.py").touch()
            folder = folder.parent
    return generated


def main() -> int:
    check = "--check" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generated = generate(out)
        stale = []
        for path in generated:
            target = PROTOS / path.relative_to(out)
            if check:
                if not target.exists() or not filecmp.cmp(path, target, shallow=False):
                    stale.append(str(target.relative_to(ROOT)))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        if not check:
            for init in out.rglob("__init__.py"):
                (PROTOS / init.relative_to(out)).touch()
        known = {PROTOS / p.relative_to(out) for p in generated}
        orphans = [
            str(p.relative_to(ROOT))
            for p in PROTOS.rglob("*")
            if p.name.endswith(SUFFIXES) and p not in known
        ]
    if check and (stale or orphans):
        print("generated protobuf code is stale; run: python scripts/genproto.py", file=sys.stderr)
        for name in stale + orphans:
            print(f"  {name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
