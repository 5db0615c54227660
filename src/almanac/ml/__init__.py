"""Labels, models, walk-forward training, evaluation, backtest, registry and inference."""
