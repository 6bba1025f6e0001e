"""The Jupyter messaging protocol (v5.3): framing, HMAC signing, typed messages."""
