"""Diagnosis of the UNF predictor on the SMASH spread bank (issue 10, v5).

    python benchmarks/unf_diagnose.py BANK_PREFIX SAVED_UNF_SPLIT0 OUT_JSON
    (e.g. /tmp/t6u/spread4_s /tmp/t6u/unf-smash-v4-s0.pt benchmarks/results/unf_predictor_smash_spread_v5_diag.json)

Within-task tau on training vs held-out tasks (the saved split-0 UNF; StatNN and Deep Sets refit
as in benchmarks/unf_predictor.py), and how weight scales spread across tensors and architectures.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).parent))
import unf_predictor as up
from scipy.stats import kendalltau, spearmanr

from automl_hyper.weightspace.bank import ChildCollection
from automl_hyper.weightspace.predictor import (
    ChildQualityPredictor,
    _tasks_from,
    kendall_taus,
    new_predictor,
    split_tasks,
    standardised_targets,
    target_scale,
)
from automl_hyper.weightspace.specs import smash_universe

torch.set_num_threads(1)
BANK, SAVED, OUT = sys.argv[1:4]
colls = [ChildCollection(f"{BANK}{s}") for s in (0, 1)]
out = {}
for seed in (0, 1):
    tr_ids, he_ids = split_tasks(colls, 0.3, seed)
    train, held = _tasks_from(colls, tr_ids), _tasks_from(colls, he_ids)
    r = {}
    if seed == 0:
        unf = ChildQualityPredictor.load(SAVED)
        for nm, ts in (("train", train), ("held", held)):
            preds = [unf.predict(ch, m) for ch, _, m in ts]
            r[f"unf_{nm}"] = kendall_taus(preds, [s for _, s, _ in ts])["tau_within_task"]
            # does it rank like the parameter count (which alone ranks held-out scores at ~0.5)?
            sizes = [
                np.array([sum(math.prod(t.shape) for t in sp.tensors) for sp, _ in ch])
                for ch, _, _ in ts
            ]
            r[f"unf_{nm}_vs_n_params"] = kendall_taus(preds, sizes)["tau_within_task"]
            # loss parts
            mse = []
            for p, (_ch, s, _m) in zip(preds, ts):
                z = (p - unf.config.target_mean) / unf.config.target_std
                t = standardised_targets(
                    s, "within_task", unf.config.target_mean, unf.config.target_std
                )
                mse.append(np.mean(((z - z.mean()) - t) ** 2))  # within-task part of the error
            r[f"unf_{nm}_centred_mse"] = float(np.mean(mse))
    extra = smash_universe(4)
    base = new_predictor(train, (16, 16), meta=True, extra_spaces=extra, objective="within_task")
    names = sorted({n for children, _, _ in train + held for sp, _ in children for n in sp.names})
    f = up.fit_statnn(train, names, base.config.scales, seed, "within_task")
    for nm, ts in (("train", train), ("held", held)):
        r[f"statnn_{nm}"] = kendall_taus(f(ts), [s for _, s, _ in ts])["tau_within_task"]
    mean, std = target_scale([s for _, s, _ in train], "within_task")
    g = up.fit_deepsets(train, base.config.scales, names, 20, seed, mean, std, 1e-3, "within_task")
    for nm, ts in (("train", train), ("held", held)):
        r[f"deepsets_{nm}"] = kendall_taus(g(ts), [s for _, s, _ in ts])["tau_within_task"]
    out[f"split{seed}"] = r
    print(seed, r, flush=True)

# weight scales: per child, per tensor RMS / per-name scale (the UNF's input scale)
tr_ids, _ = split_tasks(colls, 0.3, 0)
allt = _tasks_from(colls, [(c, int(t)) for c in colls for t in sorted(c.table["task"].unique())])
base = new_predictor(
    allt, (16, 16), meta=True, extra_spaces=smash_universe(4), objective="within_task"
)
rows = []
for ci, c in enumerate(colls):
    for i in range(len(c)):
        ch = c[i]
        if not np.isfinite(ch.row["score"]):
            continue
        for t in ch.space.tensors:
            x = ch.arrays[t.name].double()
            rms = float(x.pow(2).mean().sqrt())
            fan_in = t.shape[1] if len(t.shape) == 2 else 0
            rows.append(
                dict(
                    task=f"{ci}:{ch.row['task']}",
                    child=ch.row["child"],
                    name=t.name,
                    kind="w" if len(t.shape) == 2 else "b",
                    fan_in=fan_in,
                    fan_out=t.shape[0],
                    rms=rms,
                    scaled=rms / base.config.scales[t.name],
                    maxabs=float(x.abs().max()) / base.config.scales[t.name],
                    score=float(ch.row["score"]),
                    n_params=int(ch.row["n_params"]),
                    depth=int(ch.row["depth"]),
                )
            )

df = pd.DataFrame(rows)
w = df[df.kind == "w"]
b = df[df.kind == "b"]
sc = {}
sc["weights_scaled_rms_quantiles_5_25_50_75_95"] = (
    np.quantile(w.scaled, [0.05, 0.25, 0.5, 0.75, 0.95]).round(3).tolist()
)
sc["biases_scaled_rms_quantiles_5_25_50_75_95"] = (
    np.quantile(b.scaled, [0.05, 0.25, 0.5, 0.75, 0.95]).round(3).tolist()
)
sc["weights_scaled_maxabs_quantiles_5_50_95"] = (
    np.quantile(w.maxabs, [0.05, 0.5, 0.95]).round(3).tolist()
)
sc["weights_raw_rms_quantiles_5_50_95"] = np.quantile(w.rms, [0.05, 0.5, 0.95]).round(4).tolist()
# scale vs fan-in: spearman of raw rms vs fan_in, and log-log slope
sc["weights_rms_vs_fan_in_spearman"] = float(spearmanr(w.rms, w.fan_in).statistic)
sl = np.polyfit(np.log(w.fan_in), np.log(w.rms), 1)[0]
sc["weights_log_rms_vs_log_fan_in_slope"] = float(sl)
sc["rms_x_sqrt_fan_in_quantiles_5_50_95"] = (
    np.quantile(w.rms * np.sqrt(w.fan_in), [0.05, 0.5, 0.95]).round(3).tolist()
)
# within a tensor name, how much does the scaled RMS spread across children (std of log)
sc["within_name_std_log_scaled_rms_median"] = float(
    w.groupby("name").scaled.apply(lambda s: np.log(s).std()).median()
)
sc["across_names_std_of_name_median_log_rms"] = float(np.log(w.groupby("name").rms.median()).std())
# per child summary: mean log scaled rms; within-task tau with score, and with n_params
per_child = (
    w.groupby(["task", "child"])
    .agg(
        lr=("scaled", lambda s: float(np.mean(np.log(s)))),
        score=("score", "first"),
        n=("n_params", "first"),
        depth=("depth", "first"),
    )
    .reset_index()
)


def tw(col):
    return float(
        np.nanmean([kendalltau(g[col], g.score).statistic for _, g in per_child.groupby("task")])
    )


sc["within_task_tau_score_vs_mean_log_scaled_rms"] = tw("lr")
sc["within_task_tau_score_vs_n_params"] = tw("n")
sc["within_task_tau_score_vs_depth"] = tw("depth")
sc["within_task_tau_n_params_vs_mean_log_scaled_rms"] = float(
    np.nanmean([kendalltau(g.lr, g.n).statistic for _, g in per_child.groupby("task")])
)
sc["tensor_names"] = int(df.name.nunique())
sc["children"] = int(per_child.shape[0])
out["scales"] = sc
print(json.dumps(sc, indent=1))
json.dump(out, open(OUT, "w"), indent=1)
