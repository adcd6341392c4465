"""`trm bench`: timing, matmul peak, training throughput and MFU, CGAR's saving, inference,
the exact solver and memory. Each module measures one thing and returns dataclasses."""
