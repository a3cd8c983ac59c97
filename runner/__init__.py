"""The trial runner: trainer registry, RQ jobs, GPU workers, heartbeats."""
