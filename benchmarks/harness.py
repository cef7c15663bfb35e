"""The harness: one `measure` for every case of every section.

Why the ratios can be trusted on a noisy, shared machine
--------------------------------------------------------
* Every implementation of a case runs in this one process, interleaved: a
  round runs each implementation once, back to back, in an order that
  rotates by one every round, so none is always first (cold) or last.
* A sample is one call of an implementation timing `k` iterations of its own
  loop, so the clock and the call cost nothing measurable.  `k` is
  calibrated once per implementation so that each sample takes about
  `target_ns`: long enough to average out the clock, short enough that a
  round (every implementation once) is over before the machine's speed
  changes much, and no implementation ten times slower than another makes
  the rounds ten times longer.
* The ratios are *paired*: in each round, one implementation's time against
  another's from the same round; the figure is the median of those per-round
  ratios.  A slow round (another tenant, frequency scaling) slows both sides
  of its pairs alike, so it cancels.  It does not cancel in the quotient of
  two medians taken over the rounds separately, which is why the table's
  ns/op columns, divided, can disagree with its ratios.
* The garbage collector is paused during the rounds (restored as it was),
  so a collection triggered by one implementation is not charged to another.
"""

from __future__ import annotations

import gc
import statistics
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

# An implementation runs `k` iterations of its loop and returns the elapsed
# nanoseconds (negative: it failed).  A phased one returns one elapsed time
# per phase of the case (registration: add, modify, delete).
Impl = Callable[[int], int]
PhasedImpl = Callable[[int], Sequence[int]]

C_FLOOR = "C floor"  # the implementation 'vs C' divides by, where a case has one


@dataclass
class Case:
    """Implementations of the same work, measured together."""

    section: str
    name: str
    unit: str  # what one operation is: "wait", "call", "round trip", ...
    impls: Mapping[str, PhasedImpl]
    reference: Optional[str]  # the standard library's implementation: 'vs stdlib'
    events: int = 0  # events per operation, for ns/event
    ops: int = 1  # operations per iteration (a registration pass: 10,000 calls)
    iterations: Optional[int] = None  # a fixed k; None: calibrated
    rounds: Optional[int] = None  # None: the run's number of rounds
    phases: tuple[str, ...] = ("",)  # named after the case: "add x10000"
    # Figures besides the time, per implementation, that the case counted
    # while it ran (the herd section's wakeups per connection, ...).
    counts: Optional[Callable[[str], dict[str, float]]] = None


def case(section: str, name: str, unit: str, impls: Mapping[str, Impl], **options: Any) -> Case:
    """A Case whose implementations time one phase (all but registration)."""
    return Case(section, name, unit, {n: _one_phase(f) for n, f in impls.items()}, **options)


def _one_phase(impl: Impl) -> PhasedImpl:
    return lambda k: (impl(k),)


@dataclass
class Ratio:
    """The median of per-round ratios, with its quartiles."""

    median: float
    q1: float
    q3: float

    @property
    def spread(self) -> float:
        """Half the interquartile range, relative to the median."""
        return (self.q3 - self.q1) / 2 / self.median

    @classmethod
    def paired(cls, tops: Sequence[float], bottoms: Sequence[float]) -> Ratio:
        ratios = [top / bottom for top, bottom in zip(tops, bottoms)]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        return cls(statistics.median(ratios), q1, q3)


@dataclass
class Row:
    """One implementation in one case (and phase): what the report prints."""

    section: str
    case: str
    impl: str
    unit: str
    median_ns: float  # ns per operation, this implementation's own median
    samples: list[float] = field(repr=False)  # ns per operation, one per round
    events: int = 0
    vs_stdlib: Optional[Ratio] = None  # stdlib time / this time (> 1: faster)
    vs_floor: Optional[Ratio] = None  # this time / C floor time (1.00: the floor)
    counts: dict[str, float] = field(default_factory=dict)  # Case.counts' figures

    @property
    def spread(self) -> float:
        """Interquartile range of the samples relative to their median."""
        q = statistics.quantiles(self.samples, n=4)
        return (q[2] - q[0]) / self.median_ns


class Progress:
    """One line on stderr saying what runs."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, text: str) -> None:
        sys.stderr.write(("\r\x1b[K" + text) if self.tty else text + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def calibrate(impl: PhasedImpl, target_ns: float, minimum: int = 5) -> int:
    """How many iterations of `impl` take about `target_ns` on a quiet machine.

    The fastest of three timings, since noise only ever adds time: a k
    calibrated while another process ran would make this implementation's
    samples shorter than the others', and under contention a shorter sample
    is less often preempted, so its median would flatter it."""
    k = minimum
    while sum(impl(k)) < target_ns / 4 and k < 10_000_000:
        k *= 4
    fastest = min(sum(impl(k)) for _ in range(3))
    return max(minimum, int(k * target_ns / max(fastest, 1)))


def measure(case: Case, rounds: int, target_ns: float, progress: Progress) -> list[Row]:
    """Run `case` (see the module's docstring) and return its rows."""
    names = list(case.impls)
    ks = {name: case.iterations or calibrate(case.impls[name], target_ns) for name in names}
    for name in names:  # warm-up, not recorded: caches, lazy binding, allocators
        case.impls[name](max(1, ks[name] // 10))
    rounds = case.rounds or rounds
    samples: dict[str, dict[str, list[float]]] = {
        phase: {name: [] for name in names} for phase in case.phases
    }
    with _gc_paused():
        for r in range(rounds):
            progress(f"{case.section} {case.name}: round {r + 1}/{rounds}")
            for name in names[r % len(names) :] + names[: r % len(names)]:
                k = ks[name]
                for phase, ns in zip(case.phases, case.impls[name](k)):
                    if ns < 0:
                        raise RuntimeError(f"{case.section} {case.name}: {name} failed")
                    samples[phase][name].append(ns / (k * case.ops))
    return [row for phase in case.phases for row in _rows(case, phase, samples[phase])]


def _rows(case: Case, phase: str, samples: dict[str, list[float]]) -> list[Row]:
    def paired(top: Optional[str], bottom: Optional[str]) -> Optional[Ratio]:
        if top not in samples or bottom not in samples or top == bottom:
            return None
        return Ratio.paired(samples[top], samples[bottom])

    return [
        Row(
            case.section,
            f"{phase} {case.name}".strip(),
            name,
            case.unit,
            statistics.median(values),
            values,
            case.events,
            vs_stdlib=paired(case.reference, name),
            vs_floor=paired(name, C_FLOOR),
            counts=case.counts(name) if case.counts else {},
        )
        for name, values in samples.items()
    ]


@contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
