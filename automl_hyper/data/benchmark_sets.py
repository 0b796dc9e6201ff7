"""Named dataset sets of the benchmark protocol (docs/benchmark_protocol.md): what decides and
what is reported.

Only names live here; the data directory is always an argument (``../shared/datasets`` in this
project, laid out as ``<name>.csv`` with a ``target`` column), so the package never depends on it.

* The **report set** is the 30 OpenML-CC18 datasets of the MotherNet/TabPFN papers
  (``TABPFN_CC18_30.txt`` in the data directory). Nothing is chosen on it.
* The **selection set** below decides checkpoints (``ship --if-better``), priors and defaults. It
  is a fixed subset of the 39 other datasets, chosen once (2026-12-03, issue 13) for variety and
  for MotherNet's weak spots, before any prior v2 result was seen:

  - binary: kr-vs-kp (boolean chess positions), breast-cancer (categoricals with rare levels),
    sick (imbalanced, mixed categorical), phoneme and haberman (3-5 features, non-linear
    boundaries), kc1 and Satellite (imbalanced), spambase and sonar (57-60 features),
    heart-statlog;
  - multiclass: anneal (5 classes, one-hot categoricals with rare levels), page-blocks (5, very
    imbalanced), yeast (10, imbalanced), wall-robot-navigation (4, non-linear),
    first-order-theorem-proving (6, hard), soybean (19 classes, categorical: beyond the 10-class
    limit, handled one-vs-rest in ~5 s).

  Left out: datasets every model solves (iris, mushroom, cardiotocography, seismic-bumps), near
  chance for all (hill-valley, autoUniv-au6-1000), too small to rank anything (lung-cancer, lymph,
  autos), abalone (classes with one row cannot be split), the 100-class plants sets and the
  >200-feature sets (a minute per evaluation, dominated by their limits, not by the checkpoint).
"""

from __future__ import annotations

SELECTION_SET: tuple[str, ...] = (
    "kr-vs-kp",
    "breast-cancer",
    "sick",
    "phoneme",
    "haberman",
    "kc1",
    "Satellite",
    "spambase",
    "sonar",
    "heart-statlog",
    "anneal",
    "page-blocks",
    "yeast",
    "wall-robot-navigation",
    "first-order-theorem-proving",
    "soybean",
)

# Paper splits (train = min(1000, n/2), seed 0) per selection dataset: 3 keeps the evaluation
# under a minute on one CPU thread while averaging out the smallest sets' split noise.
SELECTION_SPLITS = 3

REPORT_SET_FILE = "TABPFN_CC18_30.txt"

# The report set's names, in the order of {REPORT_SET_FILE} (and of MANIFEST.tsv).
REPORT_SET: tuple[str, ...] = (
    "breast-w",
    "mfeat-karhunen",
    "mfeat-morphological",
    "mfeat-zernike",
    "cmc",
    "credit-approval",
    "credit-g",
    "diabetes",
    "tic-tac-toe",
    "vehicle",
    "pc3",
    "kc2",
    "pc1",
    "banknote-authentication",
    "blood-transfusion-service-center",
    "ilpd",
    "qsar-biodeg",
    "wdbc",
    "balance-scale",
    "mfeat-fourier",
    "eucalyptus",
    "analcatdata_authorship",
    "analcatdata_dmft",
    "pc4",
    "cylinder-bands",
    "dresses-sales",
    "MiceProtein",
    "car",
    "steel-plates-fault",
    "climate-model-simulation-crashes",
)

# Named suites of ``automl-hyper benchmark --suite NAME``.
SUITES: dict[str, tuple[str, ...]] = {"cc18-30": REPORT_SET, "selection": SELECTION_SET}
