#!/usr/bin/env python3
"""CHANGELOG.md -> a Debian changelog or an RPM %changelog. usage: changelog.py debian|rpm CHANGELOG.md 'Name <mail>'

Each '## VERSION (YYYY-MM-DD)' section is one entry; each '- ' item (with its indented continuation lines) one line.
"""
import datetime
import re
import sys
import textwrap


def entries(path):
    out, cur = [], None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^## (\S+) \((\d{4}-\d{2}-\d{2})\)\s*$", line)
        if m:
            cur = (m.group(1), datetime.date.fromisoformat(m.group(2)), [])
            out.append(cur)
        elif cur and line.startswith("- "):
            cur[2].append(line[2:].strip())
        elif cur and cur[2] and line.startswith("  ") and line.strip():
            cur[2][-1] += " " + line.strip()
    if not out:
        raise SystemExit(f"changelog: no '## VERSION (DATE)' section in {path}")
    return out


def main():
    kind, path, who = sys.argv[1:4]
    for version, date, items in entries(path):
        if kind == "debian":
            print(f"ttnoded ({version}) unstable; urgency=medium\n")
            for it in items:
                print(textwrap.fill(it, width=79, initial_indent="  * ", subsequent_indent="    "))
            stamp = datetime.datetime(date.year, date.month, date.day, 12, 0, tzinfo=datetime.timezone.utc)
            print(f"\n -- {who}  {stamp.strftime('%a, %d %b %Y %H:%M:%S +0000')}\n")
        else:
            print(f"* {date.strftime('%a %b %d %Y')} {who} - {version}-1")
            for it in items:
                print("- " + it.replace("%", "%%"))
            print()


if __name__ == "__main__":
    main()
