"""Citations inside the repository: check that every one resolves, and rewrite old outside ones.

The product's contract, the Dataverse facts and the business steps live in `docs/spec.md`,
`docs/dataverse-webapi.md` and `docs/business-steps.md`. Code, tests and docs link to their
sections as `docs/spec.md#23-post-apiwebhooksappointments` (in Markdown: a relative link).

    python -m tools.citations              # report broken links and outside citations; exit 1 if any
    python -m tools.citations --rewrite    # first turn old-style citations into links, then report

What is checked:
- every relative Markdown link (`[text](path#anchor)` and `[name]: path`) names an existing file
  and, for a Markdown target, an existing heading;
- every `docs/<page>.md#anchor` mention in any text file (and the `, #anchor` mentions that follow
  it) names an existing page and heading;
- no citation of a document outside the repository remains (the old contract, reference and
  business-document citations listed in OUTSIDE).

`--rewrite` knows the old forms (a contract section, a reference section, a business document
and its step) and maps them through the section numbers of the three pages above, so it can be
run again after merging branches that added text in the old style. Review its result by hand:
it rewrites citations, not the sentences around them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".js", ".xml", ".toml", ".json", ".txt", ".cfg", ".ini", ".sh", ".html"}
TEXT_NAMES = {"Makefile", "run"}
# The checker and its test, which spell broken and old-style citations on purpose.
SELF = {"tools/citations.py", "tests/unit/test_citations.py"}

SPEC = "docs/spec.md"
WEBAPI = "docs/dataverse-webapi.md"
STEPS = "docs/business-steps.md"
# The business documents, by their old numbers, and the section of STEPS that summarises each.
DOCUMENT_SECTION = {"000": "1", "001": "2", "002": "3"}

_NUM = r"\d+(?:\.\d+)?"
_SEP = r"(?:\s*(?:,|/|;|\band\b|-|–)\s*)"
_GROUP = rf"§?\s?({_NUM}(?:{_SEP}§?{_NUM})*)"

# Old citation forms -> (page, label in Markdown).
_CONTRACT = re.compile(rf"\bCONTRACT(?:'s)?\s+(?:§|section\s+){_GROUP}")
_REFERENCE = re.compile(rf"\b(?:ref|reference(?: notes)?)\s+§\s?({_NUM}(?:{_SEP}§?{_NUM})*)")
_DOCUMENT = re.compile(r"\b[Ss]eeds? (?:document )?(00\d)(?: steps? (\d+)(?:\s*[-–]\s*(\d+))?)?")

# Anything still matching one of these cites a document that is not in the repository.
OUTSIDE = [
    (re.compile(r"\bCONTRACT\b"), "the contract document (link docs/spec.md instead)"),
    (re.compile(r"\b(?:ref|reference(?: notes)?)\s+§"), "a reference section (link docs/dataverse-webapi.md)"),
    (re.compile(r"\breference/[\w-]+\.md"), "a reference file (link docs/dataverse-webapi.md)"),
    (re.compile(r"\b[Ss]eeds? (?:document )?0\d\d|\b[Ss]eed (?:documents?|steps?)\b"), "a business document (link docs/business-steps.md)"),
    (re.compile(r"\breference notes\b"), "the reference notes (link docs/dataverse-webapi.md)"),
    (re.compile(r"\.\./shared\b"), "a folder outside the repository"),
]

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_INLINE_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
_MENTION = re.compile(r"(?<![\w./-])(docs/[\w.-]+\.md)((?:#[\w-]+)?)((?:\s*(?:,|/|;|\band\b|\bto\b)\s*#[\w-]+)*)")
_CONTINUATION = re.compile(r"#([\w-]+)")


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case; drop all but letters, digits, spaces, `-`, `_`; spaces to `-`."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text only
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def markdown_lines(text: str) -> Iterator[tuple[int, str]]:
    """Line number and text of each line outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if match:
            fence = None if fence == match.group(1) else (fence or match.group(1))
            continue
        if fence is None:
            yield number, line


def headings(path: Path) -> list[str]:
    """Heading texts of a Markdown file, in order."""
    found = []
    for _, line in markdown_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if match:
            found.append(match.group(2))
    return found


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file defines, with GitHub's -1, -2 suffixes for repeated headings."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(path):
        slug = github_anchor(heading)
        if slug in seen:
            seen[slug] += 1
            result.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            result.add(slug)
    return result


def numbered_anchors(path: Path) -> dict[str, str]:
    """Section number -> anchor, for headings that start with a number (`2.3 POST ...`, `5. $batch`)."""
    numbered = {}
    for heading in headings(path):
        match = re.match(r"(\d+(?:\.\d+)*)\.?\s", heading)
        if match and match.group(1) not in numbered:
            numbered[match.group(1)] = github_anchor(heading)
    return numbered


def repository_files(root: Path = ROOT) -> list[str]:
    """Text files under version control (or, outside git, on disk), as paths relative to root."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".venv" not in p.parts]
    return sorted(
        name for name in set(listed)
        if (Path(name).suffix in TEXT_SUFFIXES or Path(name).name in TEXT_NAMES) and (root / name).is_file()
    )


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class Checker:
    """Resolves links against the files and headings of one repository tree."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self._anchors: dict[Path, set[str]] = {}

    def anchors_of(self, path: Path) -> set[str]:
        if path not in self._anchors:
            self._anchors[path] = anchors(path)
        return self._anchors[path]

    def target_problem(self, base: Path, target: str) -> str | None:
        """Why `target` (a path, an anchor or both, relative to `base`) does not resolve, or None."""
        path_part, _, anchor = target.partition("#")
        path = (base / path_part).resolve() if path_part else None
        if path is not None and not path.exists():
            return f"no such file: {target}"
        if not anchor:
            return None
        page = path
        if page is None or page.is_dir() or page.suffix != ".md":
            return None if page is not None else "an in-page anchor outside Markdown"
        if anchor not in self.anchors_of(page):
            return f"no heading for #{anchor} in {page.relative_to(self.root)}"
        return None

    def check_file(self, name: str) -> list[Problem]:
        path = self.root / name
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return []
        problems: list[Problem] = []
        if path.suffix == ".md":
            problems += self._markdown_links(name, path, text)
        if name not in SELF:  # they spell broken and outside citations on purpose
            problems += self._mentions(name, text)
            problems += self._outside(name, text)
        return problems

    def _markdown_links(self, name: str, path: Path, text: str) -> Iterator[Problem]:
        for number, line in markdown_lines(text):
            line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
            targets = [m.group(1) for m in _INLINE_LINK.finditer(line)]
            definition = _DEFINITION.match(line)
            if definition:
                targets.append(definition.group(1))
            for target in targets:
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    continue
                if target.startswith("#"):
                    target = path.name + target
                problem = self.target_problem(path.parent, target)
                if problem:
                    yield Problem(name, number, problem)

    def _mentions(self, name: str, text: str) -> Iterator[Problem]:
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _MENTION.finditer(line):
                page, first, more = match.groups()
                targets = [page + first] + [page + "#" + a for a in _CONTINUATION.findall(more)]
                for target in targets:
                    problem = self.target_problem(self.root, target)
                    if problem:
                        yield Problem(name, number, problem)

    def _outside(self, name: str, text: str) -> Iterator[Problem]:
        for number, line in enumerate(text.splitlines(), start=1):
            for pattern, what in OUTSIDE:
                if pattern.search(line):
                    yield Problem(name, number, f"cites {what}: {line.strip()[:100]}")


def check(root: Path = ROOT, names: Iterable[str] | None = None) -> list[Problem]:
    checker = Checker(root)
    problems: list[Problem] = []
    for name in repository_files(root) if names is None else names:
        problems += checker.check_file(name)
    return problems


# --- rewriting ---------------------------------------------------------------------------------


class Rewriter:
    """Turns old-style citations into links to the numbered sections of the repository's pages."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.sections = {page: numbered_anchors(root / page) for page in (SPEC, WEBAPI, STEPS)}

    def _numbers(self, group: str) -> list[tuple[str, str]]:
        """`2.1, §2.2` -> [("2.1", ","), ...]; `3.2-§3.6` -> [("3.2", ""), ("3.6", "to")]; `12.10-11` reads 12.11."""
        parts = re.split(rf"({_SEP})", group)
        result: list[tuple[str, str]] = []
        joiner = ""
        for part in parts:
            if re.fullmatch(_SEP, part):
                word = part.strip()
                joiner = "to" if word in {"-", "–"} else word
                continue
            number = part.strip().lstrip("§").strip()
            if result and joiner == "to" and "." not in number and "." in result[-1][0]:
                number = result[-1][0].split(".")[0] + "." + number
            result.append((number, joiner))
        return result

    def _link(self, page: str, numbers: list[tuple[str, str]], source: Path, label: str, markdown: bool) -> str | None:
        anchors_by_number = self.sections[page]
        if any(n not in anchors_by_number for n, _ in numbers):
            return None
        if markdown:
            rel = os.path.relpath(self.root / page, source.parent).replace(os.sep, "/")
            pieces = []
            for i, (n, joiner) in enumerate(numbers):
                text = f"{label} §{n}" if i == 0 else f"§{n}"
                link = f"[{text}]({rel}#{anchors_by_number[n]})"
                pieces.append(link if i == 0 else (f" {joiner} " if joiner not in {",", ";"} else f"{joiner} ") + link)
            return "".join(pieces)
        out = f"{page}#{anchors_by_number[numbers[0][0]]}"
        for n, joiner in numbers[1:]:
            out += (f" {joiner} " if joiner not in {",", ";"} else f"{joiner} ") + f"#{anchors_by_number[n]}"
        return out

    def rewrite_text(self, text: str, source: Path) -> str:
        """Rewrite every old citation; in Markdown, outside code blocks, as relative links."""
        if source.suffix != ".md":
            return self._rewrite(text, source, markdown=False)
        lines = text.splitlines(keepends=True)
        prose = {number - 1 for number, _ in markdown_lines(text)}
        return "".join(self._rewrite(line, source, markdown=i in prose) for i, line in enumerate(lines))

    def _rewrite(self, text: str, source: Path, markdown: bool) -> str:
        def contract(match: re.Match[str]) -> str:
            return self._link(SPEC, self._numbers(match.group(1)), source, "spec", markdown) or match.group(0)

        def reference(match: re.Match[str]) -> str:
            return self._link(WEBAPI, self._numbers(match.group(1)), source, "Web API", markdown) or match.group(0)

        def document(match: re.Match[str]) -> str:
            section = DOCUMENT_SECTION.get(match.group(1))
            if section is None:
                return match.group(0)
            first, last = match.group(2), match.group(3)
            if first is None:
                numbers = [(section, "")]
            else:
                steps = range(int(first), int(last or first) + 1)
                numbers = [(f"{section}.{step}", ",") for step in steps]
            return self._link(STEPS, numbers, source, "business steps", markdown) or match.group(0)

        text = _CONTRACT.sub(contract, text)
        text = _REFERENCE.sub(reference, text)
        return _DOCUMENT.sub(document, text)

    def rewrite_file(self, name: str) -> bool:
        path = self.root / name
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return False
        new = self.rewrite_text(text, path)
        if new != text:
            path.write_text(new, encoding="utf-8")
            return True
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.citations", description=__doc__.splitlines()[0])
    parser.add_argument("--rewrite", action="store_true", help="rewrite old-style citations in place first")
    args = parser.parse_args(argv)
    if args.rewrite:
        rewriter = Rewriter()
        changed = [name for name in repository_files() if name not in SELF and rewriter.rewrite_file(name)]
        for name in changed:
            print(f"rewrote {name}")
    problems = check()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
