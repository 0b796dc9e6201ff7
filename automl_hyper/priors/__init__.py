"""Synthetic classification tasks for pretraining (TabPFN-style priors), batched in torch.

``sample_batch(config, batch_size, seed)`` returns a :class:`TaskBatch`: ``B`` tasks of ``N`` rows,
features padded to ``config.max_features``, labels 0..C-1, the first ``split`` rows for training.
The same seed gives the same batch again on the same device type (CPU and CUDA
generators produce different streams).
"""

from automl_hyper.priors.batch import TaskBatch
from automl_hyper.priors.config import PriorConfig
from automl_hyper.priors.sample import sample_batch

__all__ = ["PriorConfig", "TaskBatch", "sample_batch"]
