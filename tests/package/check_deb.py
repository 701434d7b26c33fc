"""`cpack -G DEB` builds a .deb that holds what an operator needs, with the
metadata Debian expects, and lintian finds no error in it.

    /usr/bin/python3 tests/package/check_deb.py --build build --version 0.1.0

Builds into <build>/package-test (cpack's staging folder included), checks
the control fields (dpkg-deb -f), the file list and modes (dpkg-deb -c), the
control files (conffiles, maintainer scripts), what the files say (the unit's
paths, the man pages, the changelog's version), runs the packaged binary on
the packaged config, then lintian: any E: line fails the test; its warnings
are printed.
"""
import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Every file of the package, with its mode (directories are not listed).
EXPECTED_FILES = {
    "etc/wsd/server.yaml": "-rw-r--r--",
    "lib/systemd/system/wsd.service": "-rw-r--r--",
    "usr/bin/wsd": "-rwxr-xr-x",
    "usr/include/wsd/plugin.h": "-rw-r--r--",
    "usr/include/wsd/plugin.hpp": "-rw-r--r--",
    "usr/share/pkgconfig/wsd-plugin.pc": "-rw-r--r--",
    "usr/lib/wsd/plugins/echo.so": "-rw-r--r--",
    "usr/lib/wsd/plugins/broadcast.so": "-rw-r--r--",
    "usr/lib/wsd/plugins/handshake.so": "-rw-r--r--",
    "usr/lib/wsd/plugins/chat.so": "-rw-r--r--",          # its page is compiled in
    "usr/share/man/man8/wsd.8.gz": "-rw-r--r--",
    "usr/share/man/man5/server.yaml.5.gz": "-rw-r--r--",
    "usr/share/doc/wsd/changelog.gz": "-rw-r--r--",
    "usr/share/doc/wsd/copyright": "-rw-r--r--",
    "usr/share/doc/wsd/README.md": "-rw-r--r--",
    "usr/share/doc/wsd/architecture.md": "-rw-r--r--",
    "usr/share/doc/wsd/configuration.md": "-rw-r--r--",
    "usr/share/doc/wsd/modes.md": "-rw-r--r--",
    "usr/share/doc/wsd/operations.md": "-rw-r--r--",
    "usr/share/doc/wsd/plugin-api.md": "-rw-r--r--",
    "usr/share/doc/wsd/tls-and-proxies.md": "-rw-r--r--",
}
# Libraries wsd links (found by dpkg-shlibdeps) and what postinst runs.
EXPECTED_DEPENDS = ["adduser", "libc6", "libstdc++6", "libssl3", "libevent-core-", "libyaml-cpp",
                    "libsystemd0", "libhttp-parser", "zlib1g", "libspdlog"]

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
    return ok


def run(*cmd, cwd=None, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout)


def read(path, opener=open):
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read()


def build_package(build, out):
    shutil.rmtree(out, ignore_errors=True)
    r = run("cpack", "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"), "-B", out,
            cwd=build, timeout=300)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")] if os.path.isdir(out) else []
    if r.returncode != 0 or len(debs) != 1:
        sys.exit(f"FAIL: cpack -G DEB failed ({r.returncode}), made {debs}:\n{r.stdout}\n{r.stderr}")
    return os.path.join(out, debs[0])


def check_fields(deb, version):
    fields = {}
    for name in ["Package", "Version", "Architecture", "Maintainer", "Section", "Priority",
                 "Depends", "Description", "Installed-Size"]:
        fields[name] = run("dpkg-deb", "-f", deb, name).stdout.strip()
    arch = run("dpkg", "--print-architecture").stdout.strip()
    check(fields["Package"] == "wsd", f"Package: {fields['Package']}")
    check(fields["Version"] == version, f"Version: {fields['Version']}, the project's is {version}")
    check(fields["Architecture"] == arch, f"Architecture: {fields['Architecture']}, dpkg's is {arch}")
    check(re.fullmatch(r".+ <[^@ ]+@[^@ ]+\.[a-z]+>", fields["Maintainer"]) is not None,
          f"Maintainer: {fields['Maintainer']!r}")
    check(fields["Section"] == "net" and fields["Priority"] == "optional",
          f"Section/Priority: {fields['Section']}/{fields['Priority']}")
    depends = [d.strip() for d in fields["Depends"].split(",")]
    for want in EXPECTED_DEPENDS:
        check(any(d.startswith(want) for d in depends), f"Depends lacks {want}*: {fields['Depends']}")
    # Versions come from the shlibs files, so they must be there.
    check(any(d.startswith("libc6 (>= ") for d in depends), f"Depends without versions: {fields['Depends']}")
    summary, _, long = fields["Description"].partition("\n")
    check(summary.startswith("WebSocket server") and len(long.splitlines()) >= 5,
          f"Description: {fields['Description']!r}")
    check(fields["Installed-Size"].isdigit(), f"Installed-Size: {fields['Installed-Size']}")


def check_file_list(deb):
    listing = run("dpkg-deb", "-c", deb).stdout.splitlines()
    files = {}
    for line in listing:
        parts = line.split()
        mode, owner, path = parts[0], parts[1], parts[-1]
        check(owner == "root/root", f"{path} belongs to {owner}")
        if not mode.startswith("d"):
            files[path.removeprefix("./")] = mode
    check(files == EXPECTED_FILES,
          "file list differs:\n  missing: " + str(sorted(set(EXPECTED_FILES) - set(files))) +
          "\n  unexpected: " + str(sorted(set(files) - set(EXPECTED_FILES))) +
          "\n  other mode: " + str(sorted(p for p in files if p in EXPECTED_FILES and files[p] != EXPECTED_FILES[p])))


def check_control(deb, work):
    control = os.path.join(work, "control")
    r = run("dpkg-deb", "-e", deb, control)
    if not check(r.returncode == 0, f"dpkg-deb -e: {r.stderr}"):
        return
    check(read(os.path.join(control, "conffiles")).split() == ["/etc/wsd/server.yaml"], "conffiles")
    for script in ["postinst", "prerm", "postrm"]:
        path = os.path.join(control, script)
        if not check(os.path.exists(path), f"no {script}"):
            continue
        check(os.stat(path).st_mode & 0o777 == 0o755, f"{script} mode {oct(os.stat(path).st_mode)}")
        r = run("sh", "-n", path)
        check(r.returncode == 0, f"{script}: sh -n: {r.stderr}")
        check(read(path).startswith("#!/bin/sh\n") and "\nset -e\n" in read(path), f"{script}: #!/bin/sh, set -e")
    postinst = read(os.path.join(control, "postinst"))
    # The user is created once: every creation is guarded by a lookup.
    check(re.search(r"if ! getent passwd wsd >/dev/null; then\s+adduser --system", postinst) is not None,
          "postinst does not create the wsd system user with a guarded adduser --system")
    check(re.search(r"if ! getent group wsd >/dev/null; then\s+addgroup --system", postinst) is not None,
          "postinst does not create the wsd group with a guarded addgroup --system")


def check_contents(deb, work, version):
    root = os.path.join(work, "root")
    r = run("dpkg-deb", "-x", deb, root)
    if not check(r.returncode == 0, f"dpkg-deb -x: {r.stderr}"):
        return
    unit = read(os.path.join(root, "lib/systemd/system/wsd.service"))
    for line in ["ExecStart=/usr/bin/wsd --config /etc/wsd/server.yaml",
                 "ExecStartPre=/usr/bin/wsd --test-config --config /etc/wsd/server.yaml",
                 "User=wsd", "Group=wsd", "Type=notify"]:
        check(line + "\n" in unit, f"the unit lacks {line}")
    for page, source in [("usr/share/man/man8/wsd.8.gz", "docs/wsd.8"),
                         ("usr/share/man/man5/server.yaml.5.gz", "docs/server.yaml.5")]:
        check(read(os.path.join(root, page), gzip.open) == read(os.path.join(ROOT, source)),
              f"{page} is not {source}")
    changelog = read(os.path.join(root, "usr/share/doc/wsd/changelog.gz"), gzip.open)
    check(changelog.startswith(f"wsd ({version}) "),
          f"the changelog's first entry is not version {version}: {changelog.splitlines()[0]!r}")
    check(read(os.path.join(root, "etc/wsd/server.yaml")) == read(os.path.join(ROOT, "config/server.yaml")),
          "etc/wsd/server.yaml is not config/server.yaml")
    # The packaged binary runs, and finds the packaged plugins next to it.
    wsd = os.path.join(root, "usr/bin/wsd")
    r = run(wsd, "--version")
    check(r.returncode == 0 and r.stdout.startswith(f"wsd {version} "), f"wsd --version: {r.stdout}{r.stderr}")
    r = run(wsd, "--test-config", "--config", os.path.join(root, "etc/wsd/server.yaml"))
    check(r.returncode == 0, f"the packaged wsd refuses the packaged config: {r.stdout}{r.stderr}")
    r = run("readelf", "-S", "-W", wsd)
    check(r.returncode == 0 and ".debug_info" not in r.stdout, "usr/bin/wsd is not stripped")


def check_lintian(deb):
    if not check(shutil.which("lintian") is not None, "lintian is not installed (scripts/install-deps.sh)"):
        return
    r = run("lintian", "--no-tag-display-limit", deb, timeout=300)
    tags = [line for line in r.stdout.splitlines() if re.match(r"[EWIPX]: ", line)]
    print("lintian:", *(tags or ["(nothing)"]), sep="\n  ")
    errors = [t for t in tags if t.startswith("E: ")]
    check(not errors, "lintian reports errors:\n" + "\n".join(errors))
    check(r.returncode == 0 or errors, f"lintian failed ({r.returncode}): {r.stderr}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True, help="the cmake build folder")
    parser.add_argument("--version", required=True, help="the project's version")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    work = os.path.join(build, "package-test")
    deb = build_package(build, work)
    print("package:", deb)
    check_fields(deb, args.version)
    check_file_list(deb)
    check_control(deb, work)
    check_contents(deb, work, args.version)
    check_lintian(deb)
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("package: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
