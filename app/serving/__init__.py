"""The prediction engine: uploads read, images decoded, models cached and run in batches."""
