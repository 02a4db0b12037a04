"""xorlab: the XOR tutorial's neural network, reproduced exactly and studied at scale."""

__version__ = "0.1.0"
