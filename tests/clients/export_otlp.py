"""Exports a model server's metrics to Keel with the OpenTelemetry Python SDK over OTLP/HTTP.

Usage: KEEL_URL=http://127.0.0.1:PORT KEEL_TOKEN=keel_... python export_otlp.py protobuf|json MODEL

The protobuf exporter and the (beta) JSON exporter pin conflicting transport versions,
so each lives in its own virtualenv (scripts/test creates both).
"""

import os
import sys

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource


def exporter(encoding):
    options = {
        "endpoint": os.environ["KEEL_URL"] + "/v1/metrics",
        "headers": {"Authorization": "Bearer " + os.environ["KEEL_TOKEN"]},
    }
    if encoding == "protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.json.http.metric_exporter import OTLPMetricExporter
    return OTLPMetricExporter(**options)


def main(encoding, model):
    reader = PeriodicExportingMetricReader(exporter(encoding), export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": model, "model_version": "v3"})
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter("model-server")

    predictions = meter.create_counter("predictions", description="Predictions served")
    predictions.add(5, {"region": "cz"})
    predictions.add(7, {"region": "cz"})
    latency = meter.create_histogram("latency_ms", unit="ms")
    for value in (12.0, 30.0, 48.0):
        latency.record(value)
    meter.create_observable_gauge("accuracy", callbacks=[lambda _options: [Observation(0.931)]])

    # Both send the same cumulative data: Keel must not count it twice.
    if not provider.force_flush():
        sys.exit("force_flush failed")
    provider.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
