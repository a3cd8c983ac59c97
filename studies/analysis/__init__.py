"""The study page's Analysis section, computed on the server from a bounded
sample of the study's trials: which parameters explain the score
(importance.py), and the aggregates the page draws (parallel coordinates,
slices, a contour of two parameters: aggregates.py), all at one fidelity
chosen per study (data.py)."""
