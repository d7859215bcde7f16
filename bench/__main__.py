"""`python -m bench` lists the benchmarks; `python -m bench NAME [--quick] [--json]` runs one."""

import argparse
import sys
import time

from bench import db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="BoneSync benchmarks (not part of the tests).")
    parser.add_argument("name", nargs="?", help="the benchmark to run; without it, list them")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per measurement (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before them (default 5)")
    parser.add_argument("--verbose", action="store_true", help="more detail under the table (e.g. whole plans)")
    args = parser.parse_args(argv)

    db.configure()
    from bench.registry import Options, all_benchmarks, get_benchmark, load_benchmarks
    from bench.report import progress, render_json, render_table

    load_benchmarks()
    if args.name is None:
        width = max((len(b.name) for b in all_benchmarks()), default=0)
        print("Benchmarks (python -m bench NAME [--quick] [--json]):")
        for bench in all_benchmarks():
            print(f"  {bench.name:<{width}}  {bench.description}")
        return 0
    try:
        chosen = get_benchmark(args.name)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")

    started = time.perf_counter()
    progress(f"recreating database {db.describe()} and migrating")
    db.recreate()
    report = chosen.run(Options(quick=args.quick, repeat=args.repeat, warmup=args.warmup, verbose=args.verbose))
    elapsed = time.perf_counter() - started
    report.params["run_seconds"] = round(elapsed, 1)
    progress(f"done in {elapsed:.1f}s")
    print(render_json(report) if args.json else render_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
