"""Training the memory model: data, the action-consistency reward, and trainers (docs/method.md §6-8)."""
