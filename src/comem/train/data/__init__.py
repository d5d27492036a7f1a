"""Training data for the memory model: GRPO prompts from recorded trajectories, SFT summaries from a teacher."""
