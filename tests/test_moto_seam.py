"""moto is reached through one module (issue 16): an upgrade is `ecrlab/emulator/moto_compat.py` plus the coverage
test. Read from the package's source with `ast`, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import ecrlab

PACKAGE = Path(ecrlab.__file__).parent
SEAM = PACKAGE / "emulator" / "moto_compat.py"


def _moto_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "moto"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "moto":
            found.append(str(node.module))
    return found


def _private_moto_calls(path: Path) -> list[str]:
    """Calls of moto's private methods ecrlab knows of, made outside the seam."""
    private = {"_get_repository", "_get_image", "_get_action", "_get_param", "_resolve_image_tag_mutability"}
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.name}:{n.lineno} {n.attr}" for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in private
    ]


def test_only_the_seam_imports_moto():
    offenders = {
        str(p.relative_to(PACKAGE)): names
        for p in sorted(PACKAGE.rglob("*.py"))
        if p != SEAM and (names := _moto_imports(p))
    }
    assert offenders == {}
    assert "moto.ecr.models" in _moto_imports(SEAM)  # the check reads imports: it sees the seam's own


def test_only_the_seam_calls_motos_private_methods():
    offenders = [c for p in sorted(PACKAGE.rglob("*.py")) if p != SEAM for c in _private_moto_calls(p)]
    assert offenders == []
    assert _private_moto_calls(SEAM)


def test_the_seam_answers_with_motos_own_objects():
    import moto.ecr.models

    from ecrlab.emulator import moto_compat

    assert moto_compat.ecr_backends is moto.ecr.models.ecr_backends
    assert moto_compat.Repository is moto.ecr.models.Repository
