"""Training: mesh and shardings, train state, the jitted step, checkpoints and the loop."""
