import argparse
import time

from .server import PaymentSandbox

parser = argparse.ArgumentParser(description="Run the payment sandbox on loopback.")
parser.add_argument("--port", type=int, default=8765)
parser.add_argument("--stripe-webhook-secret", default="whsec_sandbox")
args = parser.parse_args()
sandbox = PaymentSandbox(port=args.port, stripe_webhook_secret=args.stripe_webhook_secret).start()
print(f"payment sandbox on {sandbox.url}", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    sandbox.stop()
