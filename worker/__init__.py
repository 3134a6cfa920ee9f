"""The training worker: a separate process that claims queued jobs and trains them."""
