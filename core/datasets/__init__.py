"""Datasets: the built-in CIFAR-10 and users' image-folder archives, decoded once to arrays.

Layers, top to bottom; a module imports only from layers below its own:
registration | store, loading | builtin, image_folder | cifar10, archives, class_names | arrays
"""
