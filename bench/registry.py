"""The benchmarks known to `python -m bench`: functions registered with a name and a one-line description."""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from bench.report import Report


@dataclass(frozen=True)
class Options:
    """What the command line asks of a benchmark."""

    quick: bool = False
    repeat: int = 30  # timed calls per measurement
    warmup: int = 5  # untimed calls before them
    verbose: bool = False  # more detail in the table's notes (e.g. whole query plans)


BenchmarkFunc = Callable[[Options], Report]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    func: BenchmarkFunc

    def run(self, options: Options) -> Report:
        return self.func(options)


_BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, description: str) -> Callable[[BenchmarkFunc], BenchmarkFunc]:
    """Register the decorated function as the benchmark `name`."""

    def register(func: BenchmarkFunc) -> BenchmarkFunc:
        if name in _BENCHMARKS:
            raise ValueError(f"Benchmark {name!r} is registered twice.")
        _BENCHMARKS[name] = Benchmark(name=name, description=description, func=func)
        return func

    return register


def load_benchmarks() -> None:
    """Import every module of `bench.benchmarks` so that their decorators run (Django must be set up first)."""
    package = importlib.import_module("bench.benchmarks")
    for module in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
        importlib.import_module(module.name)


def all_benchmarks() -> list[Benchmark]:
    return sorted(_BENCHMARKS.values(), key=lambda b: b.name)


def get_benchmark(name: str) -> Benchmark:
    try:
        return _BENCHMARKS[name]
    except KeyError:
        known = ", ".join(b.name for b in all_benchmarks()) or "none"
        raise KeyError(f"No benchmark named {name!r} (known: {known}).") from None
