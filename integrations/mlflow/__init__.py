"""MLflow for the zoo's families: every MLflow call of the product lives in this subpackage.

* :mod:`.models`: a fitted family as a pyfunc model (log, register under an alias, load);
* :mod:`.requirements`: the pip pins and the package source that a logged model ships with;
* :mod:`.serving`: ``mlflow models serve --env-manager local`` and HTTP invocation;
* :mod:`.tracking`: where runs go, the ``compare`` and pretraining trackers, leaderboards;
* :mod:`.benchmark`: the store of ``automl-hyper benchmark`` (finished runs, results, report);
* :mod:`.optuna_callback`: a study's trials as MLflow runs;
* :mod:`.local_models`: the copies ``compare`` saves before logging (read back with the same checks).

The modules ``import mlflow`` with absolute imports, which reach the real library even though this
subpackage has the same name.
"""

from automl_hyper.integrations.mlflow.benchmark import MLflowBenchmarkStore
from automl_hyper.integrations.mlflow.local_models import load_saved_model
from automl_hyper.integrations.mlflow.models import (
    FamilyPyfuncModel,
    as_request_frame,
    load_family_model,
    load_serving_object,
    log_family_model,
    log_feature_importances,
    predict_frame,
    serving_object,
)
from automl_hyper.integrations.mlflow.optuna_callback import MLflowCallback
from automl_hyper.integrations.mlflow.requirements import pinned_requirements, referenced_modules
from automl_hyper.integrations.mlflow.serving import free_port, invoke, serve_model
from automl_hyper.integrations.mlflow.tracking import (
    DEFAULT_TRACKING_URI,
    MLflowTracker,
    PretrainingTracker,
    configure_tracking,
    log_comparison,
    log_generated_child,
    log_leaderboard,
    registered_name,
)

__all__ = [
    "DEFAULT_TRACKING_URI",
    "FamilyPyfuncModel",
    "MLflowBenchmarkStore",
    "MLflowCallback",
    "MLflowTracker",
    "PretrainingTracker",
    "as_request_frame",
    "configure_tracking",
    "free_port",
    "invoke",
    "load_family_model",
    "load_saved_model",
    "load_serving_object",
    "log_comparison",
    "log_family_model",
    "log_feature_importances",
    "log_generated_child",
    "log_leaderboard",
    "pinned_requirements",
    "predict_frame",
    "referenced_modules",
    "registered_name",
    "serve_model",
    "serving_object",
]
