"""Sends PagerDuty Events API v2 events to Keel with PyPI's `pagerduty` client, pointed at
Keel by its base URL and otherwise unmodified: trigger, acknowledge and resolve by dedup key.

Usage: KEEL_URL=http://… pagerduty_events.py ROUTING_KEY STEP
STEP is trigger-twice, acknowledge or resolve-other (prints the dedup keys Keel answered),
or change MODEL VERSION: a Change Event of a deployment (`submit`), as a CI/CD pipeline sends it.
"""

import os
from datetime import datetime, timezone
import sys

import pagerduty

base_url = os.environ["KEEL_URL"]
routing_key, step = sys.argv[1], sys.argv[2]
client = pagerduty.EventsApiV2Client(routing_key, base_url=base_url)

if step == "trigger-twice":
    for _ in range(2):
        print(client.trigger("Churn scores stale", "churn-propensity", dedup_key="churn-stale", severity="error"))
elif step == "acknowledge":
    print(client.acknowledge("churn-stale"))
elif step == "resolve-other":
    print(client.trigger("Latency spike", "churn-propensity", dedup_key="churn-latency", severity="warning"))
    print(client.resolve("churn-latency"))
elif step == "change":
    model, version = sys.argv[3], sys.argv[4]
    client.submit(
        f"Deployed {model} {version}",
        source="gitlab-ci",
        custom_details={"model_id": model, "model_version": version},
        links=[{"href": "https://ci.example/pipelines/42", "text": "Pipeline 42"}],
        # pagerduty 7.2.0's default timestamp raises (it calls datetime.timezone on the class).
        timestamp=datetime.now(timezone.utc).isoformat(),
    )
    print("submitted")
else:
    sys.exit(f"unknown step {step}")
