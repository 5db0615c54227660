"""Feature families computed at the decision cutoff, their registry and the look-ahead audit."""
