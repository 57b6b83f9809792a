"""Times drift monitoring over HTTP against a running `keel serve` (release build):
uploading a 100,000-row x 20-column CSV reference (16 numeric, 4 categorical columns),
pushing 10,000 feature rows in one batch (the first 8 numeric features shifted by half a
standard deviation), and evaluating them on demand. Standard library only.

    KEEL_ADMIN_PASSWORD=keel-admin-demo target/release/keel serve &
    python3 backend/benches/drift_monitoring.py http://127.0.0.1:8080 keel-admin-demo
"""

import http.cookiejar
import json
import random
import sys
import time
import urllib.request

base, password = sys.argv[1], sys.argv[2]
random.seed(7)
CATEGORIES = ["a", "b", "c", "d", "e"]
header = ",".join([f"n{i}" for i in range(16)] + [f"c{i}" for i in range(4)])
lines = [header] + [
    ",".join([f"{random.gauss(i, 1):.6f}" for i in range(16)] + [random.choice(CATEGORIES) for _ in range(4)])
    for _ in range(100_000)
]
reference = ("\n".join(lines) + "\n").encode()
rows = []
for r in range(10_000):
    features = {f"n{i}": random.gauss(i + (0.5 if i < 8 else 0), 1) for i in range(16)}
    features.update({f"c{i}": random.choice(CATEGORIES) for i in range(4)})
    rows.append({"prediction_id": f"p{r}", "features": features})
batch = json.dumps({"rows": rows}).encode()

opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def call(method, path, body=b"", content_type="application/json"):
    request = urllib.request.Request(base + path, data=body, method=method)
    request.add_header("Content-Type", content_type)
    request.add_header("Origin", base)
    started = time.perf_counter()
    with opener.open(request) as response:
        answer = json.loads(response.read() or b"null")
    return answer, time.perf_counter() - started


call("POST", "/api/auth/login", json.dumps({"username": "admin", "password": password}).encode())
name = f"bench-{int(time.time())}"
model, _ = call("POST", "/api/models", json.dumps({"name": name, "owner": "o", "use_case": "u", "risk_tier": "minimal"}).encode())
call("POST", f"/api/models/{model['id']}/versions", json.dumps({"tag": "v1", "stage": "production"}).encode())
for _ in range(3):
    _, seconds = call("PUT", f"/api/models/{model['id']}/versions/v1/reference", reference, "text/csv")
    print(f"upload a {len(reference) / 1e6:.1f} MB reference (100,000 rows x 20): {seconds * 1000:.0f} ms")
for _ in range(3):
    _, seconds = call("POST", f"/api/models/{model['id']}/features", batch)
    print(f"push 10,000 feature rows ({len(batch) / 1e6:.1f} MB): {seconds * 1000:.0f} ms")
for _ in range(3):
    run, seconds = call("POST", f"/api/models/{model['id']}/drift/runs", b"{}")
    drifted = [column["column"] for column in run["report"]["columns"] if column.get("report", {}).get("drifted")]
    print(f"evaluate {run['current_rows']} rows x 20 columns: {seconds * 1000:.0f} ms; drifted: {', '.join(drifted)}")
