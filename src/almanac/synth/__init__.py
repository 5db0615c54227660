"""The seeded synthetic market and its Bayes-optimal oracle."""
