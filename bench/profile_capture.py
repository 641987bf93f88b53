"""Profile POST /api/v1/orders in-process with pyinstrument (not part of `make bench`).

Usage: python bench/profile_capture.py [orders]   -> prints the call tree of the capture path and
writes var/profile-capture.html. Same database and world as bench_capture.py; DEBUG off, so Django
does not keep the queries.
"""

from __future__ import annotations

import os
import sys
import uuid

from _common import ROOT, setup_django
from bench_capture import CAPTURE_DB

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "profile-" + uuid.uuid4().hex * 2)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ["OMS_ORDERS_THROTTLE_RATE"] = "100000000/min"


def main(n: int) -> None:
    setup_django(database_url=CAPTURE_DB)
    import random

    from capture_world import order_body, world_build
    from django.test import Client
    from pyinstrument import Profiler

    world = world_build()
    client = Client()

    def post(i: int) -> None:
        response = client.post(
            "/api/v1/orders",
            data=order_body(random.sample(world.skus, 4), customer=i),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {world.key}",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert response.status_code == 201, response.content

    for i in range(20):
        post(i)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(n):
        post(i)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    out = ROOT / "var" / "profile-capture.html"
    out.parent.mkdir(exist_ok=True)
    out.write_text(profiler.output_html())
    print(f"html: {out}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
