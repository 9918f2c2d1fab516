"""Reading a Prometheus exposition (``GET /metrics``) in tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_counted(samples: Samples, route: str, status: int, method: str = "GET") -> float:
    """``gitconfig_http_request_duration_seconds_count`` of one route, status and method."""
    labels = (("method", method), ("route", route), ("status", str(status)))
    return samples.get(("gitconfig_http_request_duration_seconds_count", labels), 0.0)
