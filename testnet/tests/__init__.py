"""Unit tests of the runner's pure parts (python3 -m unittest discover -s tests -t .)."""
