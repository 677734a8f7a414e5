"""ecrlab's ECR emulator: moto plus extensions, served on loopback (see `server.py`, `extension.py`)."""
