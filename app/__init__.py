"""The HTTP layer: FastAPI routes, the worker supervisor and the predictor."""
