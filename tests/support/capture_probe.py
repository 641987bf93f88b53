"""A long-lived process that captures orders through the API on request: one JSON line in
(`{"key": ..., "body": ...}`), one JSON line out (`{"status": ..., "body": ...}`). Tests use it to
see what a separate process, with its own caches, does after a change made elsewhere."""

from __future__ import annotations

import json
import sys


def main() -> None:
    import django

    django.setup()
    from django.test import Client

    client = Client()
    for line in sys.stdin:
        request = json.loads(line)
        response = client.post(
            "/api/v1/orders",
            data=json.dumps(request["body"]),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {request['key']}",
        )
        print(json.dumps({"status": response.status_code, "body": response.json()}), flush=True)


if __name__ == "__main__":
    main()
