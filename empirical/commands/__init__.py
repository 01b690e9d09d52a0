"""Command-line front ends of the empirical package (one module per gftheory command)."""
