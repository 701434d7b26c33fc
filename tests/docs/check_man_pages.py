"""The man pages are true to the code and render cleanly.

- docs/server.yaml.5 is what scripts/gen-server-yaml-man.py makes of
  docs/configuration.md (whose option table unit_config checks against the
  loader's), and it has an entry for every option of that table;
- docs/wsd.8 describes every option `wsd --help` prints;
- both carry the version `wsd --version` prints;
- man and groff print no warning, lexgrog finds each page's NAME.

    /usr/bin/python3 tests/docs/check_man_pages.py --wsd build/daemon/wsd
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = [os.path.join(ROOT, "docs", "wsd.8"), os.path.join(ROOT, "docs", "server.yaml.5")]

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)


def run(*cmd, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def generated_page_is_current():
    r = run(sys.executable, os.path.join(ROOT, "scripts", "gen-server-yaml-man.py"), "--check")
    check(r.returncode == 0, "docs/server.yaml.5 differs from what scripts/gen-server-yaml-man.py makes "
                             "of docs/configuration.md:\n" + r.stdout[-3000:] + r.stderr)


def every_table_option_has_an_entry():
    page = read(PAGES[1])
    doc = read(os.path.join(ROOT, "docs", "configuration.md"))
    options = re.findall(r"^\| `([a-z_0-9]+)` \|", doc, re.M)
    check(len(options) > 40, f"only {len(options)} options found in docs/configuration.md's table")
    for name in options:
        tag = ".TP\n\\fB" + name.replace("-", "\\-") + "\\fR\n"
        check(tag in page, f"server.yaml.5 has no entry for option {name}")


def every_help_option_is_described(wsd):
    r = run(wsd, "--help")
    check(r.returncode == 0, f"wsd --help exited with {r.returncode}")
    page = read(PAGES[0])
    flags = sorted(set(re.findall(r"(?<![\w-])(-[a-z]|--[a-z][a-z-]+)", r.stdout)))
    check("--config" in flags and "--test-config" in flags, f"unexpected --help output:\n{r.stdout}")
    for flag in flags:
        check(flag.replace("-", "\\-") in page, f"wsd.8 does not mention {flag} (wsd --help prints it)")


def versions_match(wsd):
    r = run(wsd, "--version")
    m = re.match(r"wsd (\S+) ", r.stdout)
    check(m is not None, f"wsd --version printed {r.stdout!r}")
    if not m:
        return
    for path in PAGES:
        th = re.search(r'^\.TH \S+ \d "[^"]*" "wsd ([^"]+)"', read(path), re.M)
        check(th is not None and th.group(1) == m.group(1),
              f"{os.path.basename(path)}: .TH names version {th and th.group(1)}, wsd is {m.group(1)}")


def pages_render_cleanly():
    for path in PAGES:
        name = os.path.basename(path)
        r = run("man", "--warnings", "-l", path, env={"MANWIDTH": "80", "MAN_KEEP_FORMATTING": ""})
        check(r.returncode == 0 and len(r.stdout) > 2000, f"man -l {name} failed: {r.returncode} {r.stderr}")
        check(r.stderr == "", f"man --warnings {name}:\n{r.stderr}")
        r = run("groff", "-man", "-ww", "-z", "-Tutf8", path)
        check(r.returncode == 0 and r.stderr == "", f"groff -ww {name}:\n{r.stderr}")
        r = run("lexgrog", path)
        check(r.returncode == 0 and " - " in r.stdout, f"lexgrog {name}: {r.stdout}{r.stderr}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wsd", required=True, help="the wsd binary")
    args = parser.parse_args()
    generated_page_is_current()
    every_table_option_has_an_entry()
    every_help_option_is_described(args.wsd)
    versions_match(args.wsd)
    pages_render_cleanly()
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("man pages: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
