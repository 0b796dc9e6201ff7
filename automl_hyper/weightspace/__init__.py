"""Universal neural functionals (arXiv 2402.05232): networks that read other networks' weights.

* :mod:`.spec` -- a weight space: named tensors whose axes carry permutation symbols;
* :mod:`.basis` -- every equivariant linear map between two tensors, one per valid partition;
* :mod:`.layers` -- equivariant layers, invariant pooling, the :class:`UNF` network;
* :mod:`.specs` -- weight spaces of MLPs, MotherNet children and SMASH architectures.

Depends on torch and numpy only, never on a model family.
"""

from automl_hyper.weightspace.basis import BasisMap, count_maps, enumerate_maps, set_partitions
from automl_hyper.weightspace.layers import UNF, EquivariantLayer, InvariantPool
from automl_hyper.weightspace.spec import TensorSpec, WeightSpace
from automl_hyper.weightspace.specs import (
    arch_arrays,
    arch_space,
    child_members,
    member_arrays,
    member_space,
    mlp_space,
    smash_universe,
)

__all__ = [
    "UNF",
    "BasisMap",
    "EquivariantLayer",
    "InvariantPool",
    "TensorSpec",
    "WeightSpace",
    "arch_arrays",
    "arch_space",
    "child_members",
    "count_maps",
    "enumerate_maps",
    "member_arrays",
    "member_space",
    "mlp_space",
    "set_partitions",
    "smash_universe",
]
