#!/usr/bin/env python3
"""Verifies one webhook delivery as a receiver should (docs/webhooks.md).

The standard library only. Reads the subscription's secret, the three webhook-*
headers and the raw body from the environment (a test runs it so), and exits 0 when
the delivery is authentic and fresh, 1 otherwise.
"""

import base64
import hashlib
import hmac
import os
import sys
import time

TOLERANCE_SECONDS = 5 * 60


def verify(secret, msg_id, timestamp, signature_header, body, now=None):
    """True when one v1 signature of the header is the HMAC of this delivery and its
    timestamp is within five minutes of now."""
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signature_header.split(" "):
        version, _, given = entry.partition(",")
        if version == "v1" and hmac.compare_digest(given, expected):
            return True
    return False


if __name__ == "__main__":
    env = os.environ
    ok = verify(
        env["WEBHOOK_SECRET"],
        env["WEBHOOK_ID"],
        env["WEBHOOK_TIMESTAMP"],
        env["WEBHOOK_SIGNATURE"],
        env["WEBHOOK_BODY"].encode(),
    )
    sys.exit(0 if ok else 1)
