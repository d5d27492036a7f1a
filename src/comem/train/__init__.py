"""Training the memory model: data, the action-consistency reward, and trainers (METHOD §8)."""
