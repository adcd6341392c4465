"""Everything torch: the TRM model, recursion and halting, losses, the CGAR curriculum, optimizers,
the trainer, evaluation, inference traces, checkpoints, the event stream, device and precision.
"""
