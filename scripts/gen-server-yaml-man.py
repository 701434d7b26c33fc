#!/usr/bin/env python3
"""Writes docs/server.yaml.5 from docs/configuration.md, so that the man page
and the reference cannot drift apart: the option table, the value syntax and
every section of the reference become the page's sections.

    scripts/gen-server-yaml-man.py            rewrite docs/server.yaml.5
    scripts/gen-server-yaml-man.py --check    exit 1 if the committed page is stale

The markdown it reads is the subset configuration.md uses: ## headings,
paragraphs, "- " lists (continued by indented lines), ``` blocks and tables
whose first column names the entry. Only the standard library is used.
"""
import argparse
import difflib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "docs", "configuration.md")
TARGET = os.path.join(ROOT, "docs", "server.yaml.5")


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"project\(wsd VERSION (\S+)", f.read())
    if not m:
        sys.exit("gen-server-yaml-man: no 'project(wsd VERSION ...)' in CMakeLists.txt")
    return m.group(1)


def escape(text):
    """Plain text as roff: backslashes, minus signs and non-ASCII characters."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def line_safe(line):
    """A text line must not start with a control character ('.' or ')."""
    return "\\&" + line if line[:1] in (".", "'") else line


INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)")


def inline(text):
    """`code` and **bold** become bold; [text](#section) names the section."""
    out, pos = [], 0
    for m in INLINE.finditer(text):
        out.append(escape(text[pos:m.start()]))
        code, bold, label, target = m.groups()
        if code is not None:
            out.append("\\fB" + escape(code) + "\\fR")
        elif bold is not None:
            out.append("\\fB" + inline(bold) + "\\fR")
        elif target.startswith("#"):
            out.append("\\fB" + escape(label.upper()) + "\\fR")
        else:
            out.append(inline(label))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def heading(text):
    """A section title: upper case, code spans kept as written."""
    parts = re.split(r"(`[^`]+`)", text)
    words = [p[1:-1] if p.startswith("`") else p.upper() for p in parts]
    return '.SH "' + escape("".join(words)) + '"'


def cells(row):
    """The cells of a markdown table row; "\\|" is a literal bar."""
    row = row.strip().strip("|")
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def table(rows):
    """Each row an indented entry: the first cell as its tag, the middle cells
    as "Header: value." and the last cell as the text."""
    header = cells(rows[0])
    out = []
    for row in rows[2:]:
        values = cells(row)
        out.append(".TP")
        out.append(line_safe(inline(values[0])))
        facts = [f"{header[i]}: {values[i]}." for i in range(1, len(values) - 1) if values[i]]
        if facts:
            out.append(line_safe(inline(" ".join(facts))))
            out.append(".br")
        out.append(line_safe(inline(values[-1])))
    return out


def convert(markdown):
    lines = markdown.splitlines()
    out = []
    i = 0
    # The title line is the page's NAME; the text up to the first section is
    # its DESCRIPTION.
    if lines and lines[0].startswith("# "):
        i = 1
        out.append(".SH DESCRIPTION")
    paragraph_open = False
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            paragraph_open = False
            i += 1
        elif line.startswith("## "):
            out.append(heading(line[3:].strip()))
            paragraph_open = False
            i += 1
        elif line.startswith("```"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            i += 1
            out += [".PP", ".RS 4", ".nf"] + [line_safe(escape(b)) for b in block] + [".fi", ".RE"]
            paragraph_open = False
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out += table(rows)
            paragraph_open = False
        elif line.startswith("- "):
            item = [line[2:].strip()]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out.append(".IP \\(bu 2")
            out.append(line_safe(inline(" ".join(item))))
            paragraph_open = False
        else:
            if not paragraph_open:
                out.append(".PP")
                paragraph_open = True
            out.append(line_safe(inline(line.strip())))
            i += 1
    return out


def page(markdown, version):
    head = [
        ".\\\" Generated by scripts/gen-server-yaml-man.py from docs/configuration.md.",
        ".\\\" Do not edit: change docs/configuration.md and run the script.",
        f'.TH SERVER.YAML 5 "" "wsd {version}" "wsd manual"',
        ".\\\" Option names and paths read wrong with a hyphen inserted: none.",
        ".nh",
        ".SH NAME",
        "server.yaml \\- configuration file of the wsd WebSocket server",
        ".SH SYNOPSIS",
        "\\fB/etc/wsd/server.yaml\\fR",
        ".PP",
        "\\fBwsd \\-\\-config\\fR \\fIFILE\\fR [\\fB\\-\\-set\\fR \\fIKEY\\fR\\fB=\\fR\\fIVALUE\\fR]...",
    ]
    tail = [
        ".SH FILES",
        ".TP",
        "\\fI/etc/wsd/server.yaml\\fR",
        "The configuration the packaged systemd unit starts wsd with.",
        ".TP",
        "\\fI/usr/lib/wsd/plugins/\\fR",
        "The example plugins (\\fBecho.so\\fR, \\fBbroadcast.so\\fR, \\fBhandshake.so\\fR),"
        " found through the default \\fBplugin_dir\\fR.",
        ".SH SEE ALSO",
        "\\fBwsd\\fR(8);",
        "\\fI/usr/share/doc/wsd/configuration.md\\fR, the source of this page.",
    ]
    return "\n".join(head + convert(markdown) + tail) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed page instead of writing it")
    args = parser.parse_args()
    with open(SOURCE, encoding="utf-8") as f:
        text = page(f.read(), project_version())
    if not args.check:
        with open(TARGET, "w", encoding="ascii") as f:
            f.write(text)
        return 0
    try:
        with open(TARGET, encoding="ascii") as f:
            committed = f.read()
    except FileNotFoundError:
        committed = ""
    if committed == text:
        return 0
    sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), text.splitlines(True),
                                               "docs/server.yaml.5 (committed)", "generated"))
    print("docs/server.yaml.5 is out of date with docs/configuration.md: "
          "run scripts/gen-server-yaml-man.py and commit the result", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
