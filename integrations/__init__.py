"""Thin adapters from the zoo (automl_hyper.zoo) to AutoGluon, Optuna, MLflow and OpenML.

Installed as ``automl_hyper.integrations``. Modules here hold no model logic: they read the zoo's
families and translate them to each library's conventions. Each module imports its library, so
import only the one you use.
"""
