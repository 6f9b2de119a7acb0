"""Offline calibration: choose tiers, strategies and thresholds from labelled outcomes; fit learned scorers.

Above the runtime layers: ``cascade/`` never imports this package (tests/test_layers.py checks). The runtime
reads what it produces (YAML plans, JSON coefficients). Modules: ``plan_search`` (the search over tier chains ×
strategy × thresholds with k-fold cross-validation), ``thresholds`` (threshold choice and cascade simulation on
outcome matrices), ``fit`` (logistic-regression scorers).
"""
