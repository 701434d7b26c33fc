#!/usr/bin/python3
"""Runs every test_*.py beside this file against the real wsd binary, with
Debian's python3-websockets as the (independent) client. Prints one line per
test and a closing 'N passed, N failed' line; exits 1 when any test failed."""
import argparse
import asyncio
import importlib.util
import inspect
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wsdtest  # noqa: E402

TEST_TIMEOUT = 60


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsd", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    args = ap.parse_args()
    wsdtest.WSD = os.path.abspath(args.wsd)
    wsdtest.PLUGIN_DIR = os.path.abspath(args.plugins)

    passed = failed = skipped = 0
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for fname, fn in inspect.getmembers(module, inspect.isfunction):
            if not fname.startswith("test_") or args.k not in fname:
                continue
            label = f"{name[:-3]}::{fname}"
            if wsdtest.base_mode() and getattr(fn, "wsd_process_only", None):
                skipped += 1
                print(f"SKIP {label} (PROCESS mode only: {fn.wsd_process_only})", flush=True)
                continue
            needs = getattr(fn, "wsd_requires", None)
            if needs and not os.access(needs[0], os.X_OK):
                skipped += 1
                print(f"SKIP {label} ({needs[1]} is not installed)", flush=True)
                continue
            if getattr(fn, "wsd_pending", None):
                skipped += 1
                print(f"SKIP {label} (pending: {fn.wsd_pending})", flush=True)
                continue
            start = time.monotonic()
            try:
                if inspect.iscoroutinefunction(fn):
                    asyncio.run(asyncio.wait_for(fn(), TEST_TIMEOUT))
                else:
                    fn()
                passed += 1
                print(f"PASS {label} ({time.monotonic() - start:.2f}s)", flush=True)
            except Exception:  # noqa: BLE001 - report every failure and go on
                failed += 1
                print(f"FAIL {label}\n{traceback.format_exc()}", flush=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
