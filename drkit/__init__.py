"""drkit: disaster-recovery drills and recovery runbooks for ML platforms on Kubernetes."""

__version__ = "0.1.0"
