"""Data in: loading (OpenML cache, CSV/Parquet, pandas) and the shared preprocessing path."""

from automl_hyper.data.preprocess import TabularPreprocessor, categorical_columns

__all__ = ["TabularPreprocessor", "categorical_columns"]
