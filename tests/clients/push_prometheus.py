"""Pushes a model server's metrics to Keel with prometheus_client's push_to_gateway.

Usage: KEEL_URL=http://127.0.0.1:PORT KEEL_TOKEN=keel_... python push_prometheus.py JOB
"""

import os
import sys

from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway
from prometheus_client.exposition import default_handler


def bearer_handler(url, method, timeout, headers, data):
    headers = list(headers) + [("Authorization", "Bearer " + os.environ["KEEL_TOKEN"])]
    return default_handler(url, method, timeout, headers, data)


def main(job):
    registry = CollectorRegistry()
    predictions = Counter(
        "predictions", "Predictions served", ["model_version"], registry=registry
    )
    predictions.labels(model_version="v2").inc(1027)
    accuracy = Gauge("accuracy", "Rolling accuracy", registry=registry)
    accuracy.set(0.914)
    gateway = os.environ["KEEL_URL"].removeprefix("http://")
    push_to_gateway(gateway, job=job, registry=registry, handler=bearer_handler)


if __name__ == "__main__":
    main(sys.argv[1])
