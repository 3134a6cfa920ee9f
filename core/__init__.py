"""Framework-free code shared by the HTTP app and the training worker."""
