"""`comem serve`: k-step-off memory for any agent, behind an OpenAI- and Anthropic-compatible gateway.

An agent points its base URL here. Each request carries the whole conversation; the gateway maps its turns to
steps, runs the same `kso` strategy object as `comem run` on them, and forwards the request upstream either
untouched (byte for byte) or with the turns a summary covers replaced by that summary (docs/gateway.md).
"""
