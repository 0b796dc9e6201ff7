#!/usr/bin/env bash
# The one prepared MotherNet pretraining run for a lent GPU (issue 13.3).
#
# Grows the shipped weights into the larger `large-v2` architecture (same function at step 0:
# automl_hyper/models/mothernet/grow.py), trains it on prior v2, and writes what must come back
# into $OUT: the fp16 weights with their manifest entry (sha256, config, lineage) and the log.
# The full training state stays on the GPU machine (it would not fit the files that come back);
# a later session continues from the returned weights with INIT=<path to them>.
#
# On the workplace's device machine (run from the repository root; nothing to install there:
# its python3 has torch, numpy, pandas, scikit-learn; MLflow is not needed):
#     bash recipes/pretrain_on_gpu.sh            # timeout_s 600: ~1 min probe + 6 min run + evals, ~8 min
# Here, as a check of the script itself (tiny batches on the CPU):
#     DEVICE=cpu BATCH=4 MINUTES=0.3 PROBE_MINUTES=0.2 OUT=/tmp/gpu_out bash recipes/pretrain_on_gpu.sh
# Back here: decide on the selection set, never on the 30 reported datasets:
#     python -m automl_hyper.models.mothernet.ship --from <the run's checkpoint> ... --if-better
#     (or compare the returned file: MotherNetClassifier(checkpoint="path/mothernet-large.pt")).
set -euo pipefail

CONFIG=${CONFIG:-large-v2}
INIT=${INIT:-mothernet-small}       # shipped name or path to weights (grown when smaller)
DEVICE=${DEVICE:-cuda}
MINUTES=${MINUTES:-6}               # training wall time after the probe (whole command ~8 min)
PROBE_MINUTES=${PROBE_MINUTES:-0.75}
SEED=${SEED:-41}                    # prior seed: not one an earlier run used (manifest lineage)
NAME=${NAME:-mothernet-large}
OUT=${OUT:-runs/gpu_out}
WORK=${WORK:-$(mktemp -d)}
PYTHON=${PYTHON:-python3}
BATCH_ARGS=()
if [[ -n "${BATCH:-}" ]]; then BATCH_ARGS=(--batch-size "$BATCH"); fi

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK"
LOG="$OUT/pretrain_${CONFIG}.log"
{
    date -u
    git rev-parse HEAD 2>/dev/null || true
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
    "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee "$LOG"

pretrain() {
    "$PYTHON" -m automl_hyper.cli pretrain --config "$CONFIG" --init-from "$INIT" \
        --device "$DEVICE" --seed "$SEED" --no-mlflow "${BATCH_ARGS[@]}" "$@"
}

# 1. Probe: the throughput once warmed up sizes the cosine schedule to the time there is (the
#    H100 run sized it from a 15-step probe with CUDA warm-up in it, 4x too low, and spent most
#    of its steps at the floor rate: docs/mothernet_pretraining.md).
pretrain --minutes "$PROBE_MINUTES" --out "$WORK/probe" --log-every 5 \
    --eval-minutes 1000 --checkpoint-minutes 1000 2>&1 | tee "$WORK/probe.log" | tee -a "$LOG"
# The last logged rate; a probe too slow to log one (a loaded machine) falls back to its tasks
# over its minutes, which counts start-up too and so errs towards a short schedule (a floor
# reached early costs little; a schedule cut off at a high rate costs more).
read -r RATE STEPS < <("$PYTHON" - "$CONFIG" "${BATCH:-0}" "$MINUTES" "$PROBE_MINUTES" \
    "$WORK/probe.log" <<'EOF'
import re
import sys

from automl_hyper.models.mothernet.configs import get_config

config, batch, minutes, probe_minutes, log = sys.argv[1:6]
text = open(log).read()
rates = re.findall(r"datasets/s ([0-9.]+)", text)
done = re.findall(r"stopped \(\w+\) at step \d+, (\d+) tasks", text)
if rates:
    rate = float(rates[-1])
elif done:
    rate = int(done[-1]) / (float(probe_minutes) * 60)
else:
    sys.exit("the probe logged neither a rate nor its stop: see the log above")
batch = int(batch) or get_config(config).train.batch_size
# 90% of the steps the probe's rate allows: the schedule reaches its floor just before the end.
print(f"{rate:.1f}", max(20, int(0.9 * rate / batch * float(minutes) * 60)))
EOF
)
echo "probe: ${RATE} datasets/s -> --total-steps ${STEPS} for ${MINUTES} min" | tee -a "$LOG"

# 2. The run: checkpoints every 2 minutes, so a failure late in it still leaves weights to ship.
STATUS=0
pretrain --minutes "$MINUTES" --total-steps "$STEPS" --out "$WORK/run" \
    --checkpoint-minutes 2 --eval-minutes 2 2>&1 | tee -a "$LOG" || STATUS=$?
echo "run exit status ${STATUS}" | tee -a "$LOG"

# 3. fp16 weights, sha256 and manifest entry into $OUT (no evaluation: ../shared is not there).
if [[ -f "$WORK/run/checkpoint.pt" ]]; then
    "$PYTHON" -m automl_hyper.models.mothernet.ship --from "$WORK/run/checkpoint.pt" \
        --out "$OUT" --name "$NAME" 2>&1 | tee -a "$LOG"
fi
ls -l "$OUT" | tee -a "$LOG"
exit "$STATUS"
