"""Datasets: the built-in CIFAR-10 and users' image-folder archives, decoded once to arrays.

Layers, top to bottom; a module imports only from layers below its own:
preparation | preparation_child, registration | store, loading | builtin, image_folder
| cifar10, folder_decoding | folder_listing | archives, class_names, status | arrays
"""
