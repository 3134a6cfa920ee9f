"""Datasets: the built-in CIFAR-10 and users' image-folder archives, decoded once to arrays."""
