"""Counters and histograms of the request path, counted without a lock per update.

prometheus-client's ``Counter.inc`` and ``Histogram.observe`` take a ``threading.Lock`` on every update
(two for an observation) and check the metric's labels each time: about 0.5 us and 1 us, several times per
request. The gateway updates its request metrics from the event loop's thread only, so a plain number per
series is enough: ``LoopCounter`` and ``LoopHistogram`` keep one, and are a collector of the registry that
turns them into exactly the samples prometheus-client's own ``Counter`` and ``Histogram`` would expose
(names, help, label order, series order, bucket bounds, ``_created``), read when ``/metrics`` is scraped.

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), every worker's updates must reach the files the scrape
merges: there each one is prometheus-client's own metric, whose series write to those files.

Example:
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> registry = CollectorRegistry()
    >>> calls = LoopCounter("demo_calls_total", "Calls", ["route"], registry=registry)
    >>> calls.labels("GET /teams").inc()
    >>> [line for line in generate_latest(registry).decode().splitlines() if "_total{" in line]
    ['demo_calls_total{route="GET /teams"} 1.0']
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = ["MULTIPROCESS", "CounterSeries", "HistogramSeries", "LoopCounter", "LoopHistogram"]

MULTIPROCESS = "prometheus_multiproc_dir" in os.environ or "PROMETHEUS_MULTIPROC_DIR" in os.environ
"""Whether prometheus-client keeps values in files shared by the workers (it decides so on import, likewise)."""

_INF = float("inf")


class CounterSeries(Protocol):
    """One label set of a counter."""

    def inc(self, amount: float = 1) -> None: ...


class HistogramSeries(Protocol):
    """One label set of a histogram."""

    def observe(self, amount: float) -> None: ...


class _Count:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1) -> None:
        if amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self.value += amount


class _Observations:
    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: list[float]) -> None:
        self.bounds = bounds
        self.counts = [0.0] * len(bounds)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        self.sum += amount
        at = bisect_left(self.bounds, amount)
        if at < len(self.bounds) and amount <= self.bounds[at]:  # NaN falls in no bucket, as in prometheus-client
            self.counts[at] += 1


S = TypeVar("S")


def _series_of(
    made: dict[tuple[str, ...], S],
    names: tuple[str, ...],
    values: tuple[object, ...],
    new: Callable[[tuple[str, ...]], S],
) -> S:
    """The series of ``values`` as text (prometheus-client's label values), made on first use."""
    if len(values) != len(names):
        raise ValueError("Incorrect label count")
    key = tuple(str(value) for value in values)
    series = made.get(key)
    if series is None:
        series = made[key] = new(key)
    return series


def _remember(given: dict[tuple[object, ...], S], values: tuple[object, ...], series: S) -> None:
    """Keep ``series`` by the values as given when they are all text: other values may be equal as keys yet
    differ as label text (``1``, ``1.0`` and ``True`` are one key but three series), so those are read by text."""
    if all(type(value) is str for value in values):
        given[values] = series


def _created_series() -> bool:
    """Whether prometheus-client exposes ``_created`` samples now (``disable_created_metrics`` turns them off)."""
    probe = Counter("created_probe", "", registry=None)
    return any(sample.name.endswith("_created") for metric in probe.collect() for sample in metric.samples)


class LoopCounter(Collector):
    """A labelled counter updated from the event loop's thread; ``labels(...)`` is resolved once per label set.

    Example:
        >>> requests = LoopCounter("demo_requests_total", "Requests", ["outcome"], registry=None)
        >>> requests.labels("ok").inc()
        >>> requests.labels("ok") is requests.labels("ok")
        True
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        registry: CollectorRegistry | None = REGISTRY,
        multiprocess: bool = MULTIPROCESS,
    ) -> None:
        self._name = name.removesuffix("_total")
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._series: dict[tuple[str, ...], CounterSeries] = {}  # by label values, in the order first used
        self._given: dict[tuple[object, ...], CounterSeries] = {}  # by the values as callers pass them
        # Multiprocess: prometheus-client's own counter, registered in place of this collector.
        self._shared = Counter(name, documentation, labelnames, registry=registry) if multiprocess else None
        if self._shared is None and registry is not None:
            registry.register(self)

    def labels(self, *values: object) -> CounterSeries:
        """The series of one label set (made on first use, as ``Counter.labels`` makes it)."""
        series = self._given.get(values)
        if series is None:
            series = _series_of(self._series, self._labelnames, values, self._new)
            _remember(self._given, values, series)
        return series

    def _new(self, values: tuple[str, ...]) -> CounterSeries:
        return _Count() if self._shared is None else self._shared.labels(*values)

    def describe(self) -> Iterable[Metric]:
        return [Metric(self._name, self._documentation, "counter")]

    def collect(self) -> Iterable[Metric]:
        if self._shared is not None:
            return self._shared.collect()
        metric = Metric(self._name, self._documentation, "counter")
        created = _created_series()
        for values, series in list(self._series.items()):
            assert isinstance(series, _Count)
            labels = dict(zip(self._labelnames, values, strict=True))
            metric.add_sample(self._name + "_total", labels, series.value)
            if created:
                metric.add_sample(self._name + "_created", dict(labels), series.created)
        return [metric]


class LoopHistogram(Collector):
    """A labelled histogram updated from the event loop's thread; ``labels(...)`` is resolved once per label set.

    Example:
        >>> sizes = LoopHistogram("demo_batch_size", "Keys per batch", ["loader"], buckets=(1, 5), registry=None)
        >>> sizes.labels("team").observe(3)
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry | None = REGISTRY,
        multiprocess: bool = MULTIPROCESS,
    ) -> None:
        # Validated and completed with +Inf as prometheus-client does it (and by it, in multiprocess mode).
        model = Histogram(name, documentation, labelnames, buckets=buckets, registry=None)
        bounds = [float(bound) for bound in buckets]
        if bounds[-1] != _INF:
            bounds.append(_INF)
        self._bounds = bounds
        self._les = [floatToGoString(bound) for bound in bounds]
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._series: dict[tuple[str, ...], HistogramSeries] = {}  # by label values, in the order first used
        self._given: dict[tuple[object, ...], HistogramSeries] = {}  # by the values as callers pass them
        self._shared = model if multiprocess else None
        if registry is not None:
            registry.register(self._shared if self._shared is not None else self)

    def labels(self, *values: object) -> HistogramSeries:
        """The series of one label set (made on first use, as ``Histogram.labels`` makes it)."""
        series = self._given.get(values)
        if series is None:
            series = _series_of(self._series, self._labelnames, values, self._new)
            _remember(self._given, values, series)
        return series

    def _new(self, values: tuple[str, ...]) -> HistogramSeries:
        return _Observations(self._bounds) if self._shared is None else self._shared.labels(*values)

    def describe(self) -> Iterable[Metric]:
        return [Metric(self._name, self._documentation, "histogram")]

    def collect(self) -> Iterable[Metric]:
        if self._shared is not None:
            return self._shared.collect()
        metric = Metric(self._name, self._documentation, "histogram")
        created = _created_series()
        name = self._name
        for values, series in list(self._series.items()):
            assert isinstance(series, _Observations)
            labels = dict(zip(self._labelnames, values, strict=True))
            total = 0.0
            for le, count in zip(self._les, list(series.counts), strict=True):
                total += count
                metric.add_sample(name + "_bucket", {**labels, "le": le}, total)
            metric.add_sample(name + "_count", dict(labels), total)
            if self._bounds[0] >= 0:
                metric.add_sample(name + "_sum", dict(labels), series.sum)
            if created:
                metric.add_sample(name + "_created", dict(labels), series.created)
        return [metric]
