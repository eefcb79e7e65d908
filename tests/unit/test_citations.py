"""Every citation in the repository resolves inside the repository (tools/citations.py).

The first test is the check itself; the others prove the checker can fail, on small trees
built in a temporary folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools import citations


def test_every_citation_resolves_and_none_points_outside_the_repository() -> None:
    problems = citations.check()
    assert not problems, "broken or outside citations:\n" + "\n".join(map(str, problems))


def test_the_check_reads_the_whole_repository() -> None:
    names = citations.repository_files()
    assert {"README.md", "docs/spec.md", "function_app.py", "openapi.yaml", "Makefile"} <= set(names)
    assert any(name.startswith("tests/") and name.endswith(".py") for name in names)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("2.1 POST /api/booking-sessions", "21-post-apibooking-sessions"),
        ("2.6 GET /api/schedules/import/jobs/{jobId}", "26-get-apischedulesimportjobsjobid"),
        ("5. $batch", "5-batch"),
        ("What it implements (`§12`)", "what-it-implements-12"),
        ("Choices where the reference says UNCONFIRMED", "choices-where-the-reference-says-unconfirmed"),
    ],
)
def test_anchor_rule_is_githubs(heading: str, anchor: str) -> None:
    assert citations.github_anchor(heading) == anchor


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


PAGE = "# Page\n\n## 2.3 POST /api/webhooks/appointments\n\n## Twice\n\n## Twice\n\n```\n## not a heading\n```\n"


def test_links_and_mentions_that_resolve_are_accepted(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "docs/spec.md": PAGE,
        "docs/other.md": "[ok](spec.md#23-post-apiwebhooksappointments), [again](spec.md#twice-1), [top](#other)\n"
                         "[def]: spec.md\n\n# Other\n",
        "app.py": '"""See docs/spec.md#23-post-apiwebhooksappointments, #twice."""\n',
    })
    assert citations.check(root) == []


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("docs/a.md", "[x](missing.md)\n", "no such file: missing.md"),
        ("docs/a.md", "[x](spec.md#nope)\n", "no heading for #nope in docs/spec.md"),
        ("docs/a.md", "[x](spec.md#not-a-heading)\n", "no heading for #not-a-heading"),
        ("docs/a.md", "[x]: spec.md#twice-2\n", "no heading for #twice-2"),
        ("app.py", "# docs/spec.md#23-post-apiwebhooksappointments, #24-post-apischedulesimport\n",
         "no heading for #24-post-apischedulesimport"),
        ("app.py", "# docs/nothing.md\n", "no such file: docs/nothing.md"),
        ("app.py", "# " + "CONTRACT" + " §2.3\n", "cites the contract document"),
        ("app.py", "# see " + "ref" + " §5.2\n", "cites a reference section"),
        ("app.py", "# " + "reference" + "/dataverse-webapi.md\n", "cites a reference file"),
        ("app.py", "# " + "seed" + " 001 step 6\n", "cites a business document"),
        ("app.py", "# ../" + "shared/seeds\n", "a folder outside the repository"),
    ],
)
def test_broken_or_outside_citations_are_reported(tmp_path: Path, name: str, text: str, expected: str) -> None:
    root = _tree(tmp_path, {"docs/spec.md": PAGE, name: text})
    problems = citations.check(root)
    assert len(problems) == 1 and problems[0].path == name and expected in problems[0].message, problems


def test_rewrite_turns_old_citations_into_links_that_resolve(tmp_path: Path) -> None:
    spec = "# Spec\n\n## 1. Settings\n\n## 2.1 POST /api/booking-sessions\n\n## 2.2 GET /api/booking-sessions/redirect\n"
    webapi = "# Web API\n\n## 3.2 Update\n\n## 3.6 Alternate keys\n\n## 12.10 Throttling\n\n## 12.11 Error shape\n"
    steps = "# Steps\n\n## 2. WEM schedule import\n\n### 2.1 Users\n\n### 2.2 Bookable resources\n\n### 2.6 Bookings\n"
    old_contract, old_ref, old_seed = "CONTRACT" + " §", "ref" + " §", "seed" + " 001"
    root = _tree(tmp_path, {"docs/spec.md": spec, "docs/dataverse-webapi.md": webapi, "docs/business-steps.md": steps})
    rewriter = citations.Rewriter(root)

    code = rewriter.rewrite_text(
        f"({old_contract}2.1, §2.2) ({old_ref}3.2-§3.6) ({old_ref}12.10-11) ({old_seed} step 6) ({old_seed} steps 1-2)",
        root / "app.py",
    )
    assert code == (
        "(docs/spec.md#21-post-apibooking-sessions, #22-get-apibooking-sessionsredirect) "
        "(docs/dataverse-webapi.md#32-update to #36-alternate-keys) "
        "(docs/dataverse-webapi.md#1210-throttling to #1211-error-shape) "
        "(docs/business-steps.md#26-bookings) "
        "(docs/business-steps.md#21-users, #22-bookable-resources)"
    )
    markdown = rewriter.rewrite_text(f"As {old_contract}1 says.\n```\n{old_contract}1\n```\n", root / "docs/page.md")
    assert markdown == "As [spec §1](spec.md#1-settings) says.\n```\ndocs/spec.md#1-settings\n```\n"
    assert rewriter.rewrite_text(f"{old_ref}9.9 stays", root / "app.py") == f"{old_ref}9.9 stays"

    (root / "app.py").write_text(code + "\n", encoding="utf-8")
    (root / "docs/page.md").write_text(markdown, encoding="utf-8")
    assert citations.check(root) == []
