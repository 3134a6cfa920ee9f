"""What the tests and the benchmarks share: real CIFAR-10 samples from the shared archive,
hostile inputs, a saved untrained model, a real browser, and starting the service's processes.

Neither side's private folder: `tests` and `benchmarks` import from here, never from each other.
Not part of the installed service (pyproject.toml leaves it out; the image does not copy it).
"""
