#!/usr/bin/env bash
# The paper's MNIST headline rows at its own budget (issue 25): the AAE, the CatVAE and the InfoCatVAE
# at appendix B's settings (the `train` defaults: bound reading, lr 1e-4), the InfoCatVAE under both
# readings of beta_info (100 on the per-image cross-entropy; the released code's effective 0.78 on its
# double softmax), each over seeds 0, 1, 2, for EPOCHS epochs (the paper's 600 by default).
#
# The CatVAEs train as ensembles, one process per setting holding its three seeds (ensembles appendix);
# the AAE, which has no ensemble, trains one process per seed. All six processes run at once. Every run
# is an ordinary resumable `train --resume`, so a second launch continues what a first one left, and
# each finished run writes a line to OUT/progress.log at once: a launch cut short still says what it
# finished. At the end every member is published as OUT/published/<setting>_mnist_seed<N>.pt (no
# optimizer state), and the lot is packed into OUT/published.tar.part-aa, -ab, ... of at most 15 MiB each
# (the device machine returns files of 16 MiB at most); `cat OUT/published.tar.part-* | tar -x` unpacks it.
#
# Try it on the CPU first, at a tiny budget:
#   EPOCHS=2 SUBSET=512 DEVICE=cpu OUT=runs/gpu-try bash benchmarks/gpu_budget.sh
# On the GPU machine (the source tree, MNIST carried into data/):
#   PYTHONPATH=src CATVAE_DATA_DIR=data EPOCHS=600 DEVICE=cuda bash benchmarks/gpu_budget.sh
set -euo pipefail

EPOCHS=${EPOCHS:-600}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-runs/gpu}
PYTHON=${PYTHON:-python3}
SEEDS=(0 1 2)
SUBSET_OPTIONS=()
[ -n "${SUBSET:-}" ] && SUBSET_OPTIONS=(--subset "$SUBSET")

mkdir -p "$OUT/published"
progress() { echo "$(date -u +%H:%M:%S) $*" >> "$OUT/progress.log"; }

# name: the train options of a setting, beyond the defaults
declare -A ENSEMBLES=(
    [catvae]="--model catvae"
    [infocatvae]="--model infocatvae"
    [infocatvae-released-weight]="--model infocatvae --info-loss double-softmax --beta-info 0.78"
)

train() {  # train NAME OPTIONS...: one resumable run, its log beside it, a progress line when it ends
    local name=$1 start=$SECONDS
    shift
    if "$PYTHON" -m catvae_lit train "$@" --epochs "$EPOCHS" --device "$DEVICE" "${SUBSET_OPTIONS[@]}" \
        --out "$OUT/$name.pt" --resume > "$OUT/$name.log" 2>&1; then
        progress "finished $name in $((SECONDS - start)) s"
    else
        progress "FAILED $name after $((SECONDS - start)) s: $(tail -n 1 "$OUT/$name.log")"
        return 1
    fi
}

progress "start: $EPOCHS epochs on $DEVICE ${SUBSET:+(subset $SUBSET)}"
pids=()
for name in "${!ENSEMBLES[@]}"; do
    # shellcheck disable=SC2086  # the options are words
    train "$name" ${ENSEMBLES[$name]} --seeds "${SEEDS[@]}" & pids+=($!)
done
for seed in "${SEEDS[@]}"; do
    train "aae_seed$seed" --model aae --seed "$seed" & pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
[ "$failed" = 0 ] || { progress "some runs failed; see their logs"; exit 1; }

for name in "${!ENSEMBLES[@]}"; do
    for member in "${!SEEDS[@]}"; do
        "$PYTHON" -m catvae_lit publish "$OUT/$name.pt" "$OUT/published/${name}_mnist_seed${SEEDS[$member]}.pt" \
            --member "$member" --overwrite
    done
done
for seed in "${SEEDS[@]}"; do
    "$PYTHON" -m catvae_lit publish "$OUT/aae_seed$seed.pt" "$OUT/published/aae_mnist_seed$seed.pt" --overwrite
done
rm -f "$OUT"/published.tar.part-*
tar -cf - -C "$OUT/published" --exclude "*.lock" . | split -b 15m - "$OUT/published.tar.part-"
progress "published $(find "$OUT/published" -name '*.pt' | wc -l) checkpoints into $OUT/published.tar.part-*"
