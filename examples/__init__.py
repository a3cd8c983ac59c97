"""Example trainers users can copy. ``examples.digits`` needs only scikit-learn;
``examples.torch_mnist_like`` is written for GPUs (torch optional)."""
