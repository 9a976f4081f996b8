"""Dependency audit for CI: the installed environment (.venv) against published vulnerabilities.

Runs pip-audit with PyPI's advisory data, then OSV's if PyPI could audit nothing. A known
vulnerability in an installed package fails (exit 1). When neither service could audit a single
package (no network, or a mirror without the per-version JSON API), it says so loudly and passes:
an audit that cannot run must not block every build, but must not look like a clean one either.

    .venv/bin/python .ci/audit.py                 # audit .venv
    .venv/bin/python .ci/audit.py --report x.json  # judge a saved `pip-audit -f json` report
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
# Vulnerability ids accepted on purpose, each with why (none today).
IGNORED: dict[str, str] = {}
TIMEOUT = 300  # seconds per service: a hung network is a skipped audit, not a hung build


def run(service: str) -> dict[str, Any] | None:
    """pip-audit's JSON report from `service`, or None when it could not produce one."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "audit.json"
        command = [str(PIP_AUDIT), "--skip-editable", "--progress-spinner", "off"]
        command += ["--vulnerability-service", service, "--format", "json", "--output", str(out)]
        for vuln in IGNORED:
            command += ["--ignore-vuln", vuln]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"pip-audit ({service}): no answer in {TIMEOUT} s")
            return None
        if not out.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"pip-audit ({service}) failed: {last}")
            return None
        return json.loads(out.read_text())


def judge(report: dict[str, Any], service: str) -> int | None:
    """1 for vulnerabilities, 0 for a clean audit, None when nothing could be audited."""
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(
                f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} ({fixes})"
            )
    if vulnerable:
        return 1
    if not audited:
        reason = dependencies[0]["skip_reason"] if dependencies else "no packages listed"
        print(f"pip-audit ({service}): none of {len(dependencies)} packages audited ({reason})")
        return None
    skipped = sorted(d["name"] for d in dependencies if "skip_reason" in d)
    print(f"pip-audit ({service}): {len(audited)} packages audited, no known vulnerabilities")
    if skipped:
        print(f"  not audited ({len(skipped)}): {', '.join(skipped)}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--report"]:
        verdict = judge(json.loads(Path(argv[1]).read_text()), "report")
        return 0 if verdict is None else verdict
    for service in ("pypi", "osv"):
        report = run(service)
        verdict = None if report is None else judge(report, service)
        if verdict is not None:
            return verdict
    print(
        "WARNING: DEPENDENCY AUDIT SKIPPED: no vulnerability service could audit any installed "
        "package (PyPI's per-version JSON API and api.osv.dev are unreachable from here). "
        "Nothing was checked; run `.venv/bin/pip-audit` where they are reachable."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
