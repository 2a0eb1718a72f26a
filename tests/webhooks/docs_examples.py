"""The signature verification examples of docs/webhooks.md, run as written (Python and Node)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from tests.servers import ROOT
from tests.webhooks.receiver import Received

DOC = ROOT / "docs" / "webhooks.md"


def _block(language: str, marker: str) -> str:
    for match in re.finditer(rf"```{language}\n(.*?)```", DOC.read_text(), re.S):
        if marker in match.group(1):
            return match.group(1)
    raise AssertionError(f"docs/webhooks.md has no {language} block with {marker}")


def python_verifier() -> Callable[[str, Mapping[str, str], bytes], bool]:
    namespace: dict[str, Any] = {}
    exec(_block("python", "def verify_archivist_request"), namespace)
    fn: Callable[[str, Mapping[str, str], bytes], bool] = namespace["verify_archivist_request"]
    return fn


def node_verifies(secret: str, requests: list[Received]) -> list[bool]:
    """Run the documented Node function on each request (lower-case headers, raw body)."""
    node = shutil.which("node")
    assert node, "node is needed to run the documented Node.js example"
    cases = [{"headers": {k.lower(): v for k, v in r.headers.items()},
              "body": base64.b64encode(r.body).decode()} for r in requests]
    script = _block("js", "function verifyArchivistRequest") + """
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(input.cases.map((c) =>
  verifyArchivistRequest(input.secret, c.headers, Buffer.from(c.body, 'base64')))));
"""
    out = subprocess.run([node, "-e", script], input=json.dumps({"secret": secret, "cases": cases}),
                         capture_output=True, text=True, timeout=30, check=True)
    result: list[bool] = json.loads(out.stdout)
    return result
