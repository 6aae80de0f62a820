"""entry_service: the public edge. Serves definitions to the snippet and takes event batches."""
