#!/usr/bin/env python3
"""Writes ttnoded.8 and ttctl.1 from the templates in packaging/man and the binaries' own --help texts.

ttnoded's OPTIONS come from `ttnoded --help`; ttctl's COMMANDS from walking `ttctl [verb...] --help` recursively,
so the man pages always describe the binaries they ship with.
"""
import argparse
import datetime
import os
import re
import subprocess

HELP_NOISE = {"-?, -h, --help", "--version"}


def roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line[:1] in (".", "'") else line for line in text.split("\n"))


def run_help(binary, args):
    env = dict(os.environ, TTCTL_SOCKET="", COLUMNS="200")
    p = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, env=env, timeout=30)
    if p.returncode != 0:
        raise SystemExit(f"mkman: {binary} {' '.join(args)} --help exited {p.returncode}: {p.stderr}")
    return p.stdout


def sections(help_text):
    """System.CommandLine help: 'Name:' headings, then entries indented by two spaces (continuations deeper)."""
    out, current = {}, None
    for line in help_text.splitlines():
        m = re.match(r"^([A-Z][A-Za-z ]*):\s*$", line)
        if m:
            current = m.group(1)
            out[current] = []
        elif current is not None and line.strip():
            out[current].append(line)
    return out


def entries(lines):
    """[(name, description)] from '  name  description' lines with indented continuations."""
    result = []
    for line in lines:
        if re.match(r"^  \S", line):
            parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            result.append([parts[0], parts[1] if len(parts) > 1 else ""])
        elif result:
            result[-1][1] = (result[-1][1] + " " + line.strip()).strip()
    return result


def ttctl_commands(binary, path, out):
    s = sections(run_help(binary, path))
    subs = entries(s.get("Commands", []))
    if path:
        desc = " ".join(l.strip() for l in s.get("Description", []))
        usage = " ".join(l.strip() for l in s.get("Usage", []))
        if not subs or entries(s.get("Arguments", [])) or len(entries(s.get("Options", []))) > 2:
            out.append(f".SS {roff(' '.join(path))}\n{roff(desc)}\n.PP\n.B {roff(usage)}")
            for name, d in entries(s.get("Arguments", [])):
                out.append(f".TP\n.I {roff(name)}\n{roff(d)}")
            for name, d in entries(s.get("Options", [])):
                if name in HELP_NOISE or name.startswith("-s, --socket"):
                    continue
                out.append(f".TP\n.B {roff(name)}\n{roff(d)}")
    for name, _ in subs:
        # "sign <file>" in a Commands list: the command is the first word; its argument is shown in its own help.
        sub = name.split(",")[0].split()[0]
        if sub in path or len(path) > 5:
            raise SystemExit(f"mkman: help of ttctl {' '.join(path)} lists '{name}' again: refusing to recurse")
        ttctl_commands(binary, path + [sub], out)


def ttnoded_options(binary):
    text = run_help(binary, [])
    out = []
    for line in text.splitlines()[1:]:
        m = re.match(r"^\s+(--\S+(?: [A-Z]+)?)\s{2,}(.*)$", line)
        if m:
            out.append(f".TP\n.B {roff(m.group(1))}\n{roff(m.group(2))}")
    if not out:
        raise SystemExit("mkman: no options found in ttnoded --help")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--ttctl", required=True)
    ap.add_argument("--ttnoded", required=True)
    ap.add_argument("--template-dir", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    date = datetime.datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", "0")), datetime.timezone.utc).strftime("%Y-%m-%d")
    cmds = []
    ttctl_commands(a.ttctl, [], cmds)
    pages = {
        ("ttctl.1.in", "man1/ttctl.1"): {"@COMMANDS@": "\n".join(cmds)},
        ("ttnoded.8.in", "man8/ttnoded.8"): {"@OPTIONS@": ttnoded_options(a.ttnoded)},
    }
    for (template, target), subst in pages.items():
        with open(os.path.join(a.template_dir, template), encoding="utf-8") as f:
            text = f.read()
        subst.update({"@VERSION@": a.version, "@DATE@": date})
        for k, v in subst.items():
            text = text.replace(k, v)
        os.makedirs(os.path.dirname(os.path.join(a.out, target)), exist_ok=True)
        with open(os.path.join(a.out, target), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
