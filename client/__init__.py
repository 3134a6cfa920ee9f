"""A Python client and the `kts` command line for the keras-train-serve HTTP API.

It needs only httpx, httpx-sse, click and rich: never TensorFlow, FastAPI or the server's code.
"""
