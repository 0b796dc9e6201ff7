"""AutoGluon with a zoo family: `import automl_hyper` makes "INN" a model key like "XGB".

    python recipes/autogluon_family.py [--quick]

Uses credit-g from ../shared/datasets when present (mixed numeric and categorical columns),
otherwise scikit-learn's bundled breast_cancer. Writes the predictor under ./AutogluonModels/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from autogluon.tabular import TabularPredictor
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import automl_hyper  # noqa: F401  (registers the zoo's families with AutoGluon)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def load_table() -> pd.DataFrame:
    path = SHARED / "credit-g.csv"
    if path.exists():
        return pd.read_csv(path)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.assign(target=y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny budget (used by the tests)")
    args = parser.parse_args()

    df = load_table()
    if args.quick:
        df = df.sample(300, random_state=0)
    train, test = train_test_split(df, test_size=0.3, stratify=df["target"], random_state=0)

    epochs = 3 if args.quick else 30
    predictor = TabularPredictor(
        label="target", eval_metric="roc_auc", path="AutogluonModels/recipe"
    )
    predictor.fit(
        train,
        hyperparameters={"INN": {"max_epochs": epochs}, "XGB": {}},
        time_limit=30 if args.quick else 120,
        verbosity=1,
    )
    print(predictor.leaderboard(test)[["model", "score_test", "score_val", "fit_time"]])

    # INN explains every prediction: the fitted estimator is inside AutoGluon's model object.
    inn = predictor._trainer.load_model("INN").model
    top = pd.Series(inn.feature_importances_, index=inn.feature_names_in_).nlargest(5)
    print("INN's most important features (one-hot levels summed):\n" + top.to_string())


if __name__ == "__main__":
    main()
