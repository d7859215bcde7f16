"""Benchmarks: never part of the test run.

    python -m bench                         list the benchmarks
    python -m bench NAME [--quick] [--json] run one and print a table (or the figures as JSON)

Each run works in its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/bonesync_bench), dropped and recreated at the start and migrated there; no other
database is touched. Benchmarks live in `bench/benchmarks/` and register themselves with `bench.registry.benchmark`.
"""
