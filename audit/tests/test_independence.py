"""`audit` is the bottom of the dependency graph: every app writes to it, it imports none of them."""

import ast
from pathlib import Path

import audit

OUR_APPS = {"partners", "referrals", "rewards", "payments"}


def test_audit_imports_none_of_our_apps():
    offenders = []
    for path in Path(audit.__file__).parent.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in OUR_APPS]
    assert offenders == []
