"""Checking data files: the record of what dataset.json promises, the checks of stored
values any format shares, and the report that collects what is wrong."""
