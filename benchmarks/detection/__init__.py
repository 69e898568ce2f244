"""The detection scenario benchmark: labelled synthetic creators, two baselines, one scorer."""
