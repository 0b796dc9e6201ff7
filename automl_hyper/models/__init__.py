"""Model families. Each lives in its own folder; see automl_hyper.zoo for the registry."""
