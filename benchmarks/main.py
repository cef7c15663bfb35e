"""The command line: pick the sections, measure their cases, report."""

from __future__ import annotations

import argparse
from typing import Optional

from . import __doc__ as DESCRIPTION
from . import report
from .cases import SECTIONS, Settings
from .cfloor import CFloor
from .harness import Progress, Row, measure


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks", description=(DESCRIPTION or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (<30 s)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per case (>= 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--plot", metavar="PATH", help="draw ns/event against n (matplotlib)")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.plot:
        report.check_plot()
    rounds = max(5, args.rounds or (9 if args.quick else 41))
    target_ns = 2e6 if args.quick else 4e6  # the length of one sample
    settings = Settings(quick=args.quick, rounds=rounds, floor=CFloor())
    progress = Progress()
    rows: list[Row] = []
    for name in args.only or SECTIONS:
        for case in SECTIONS[name](settings):
            rows += measure(case, rounds, target_ns, progress)
    progress.done()
    info = report.machine()
    report.print_table(rows, info, rounds)
    report.print_counts(rows)
    print("\n" + report.footer(report.process_seconds()))
    if args.json:
        report.write_json(args.json, rows, info, rounds)
    if args.plot:
        report.plot(rows, args.plot)
    return 0
