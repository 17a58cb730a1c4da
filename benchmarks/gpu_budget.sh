#!/usr/bin/env bash
# The paper's MNIST headline rows at its own budget (issue 25): the AAE, the CatVAE and the InfoCatVAE
# at appendix B's settings (the `train` defaults: bound reading, lr 1e-4), the InfoCatVAE under both
# readings of beta_info (100 on the per-image cross-entropy; the released code's effective 0.78 on its
# double softmax), each over seeds 0, 1, 2 (or SEEDS), for EPOCHS epochs (the paper's 600 by default).
#
# The CatVAEs train as ensembles, one process per setting holding its three seeds (ensembles appendix);
# the AAE, which has no ensemble, trains one process per seed. All six processes run at once. Every run
# is an ordinary resumable `train --resume`, so a second launch continues what a first one left, and
# each finished run writes a line to OUT/progress.log at once: a launch cut short still says what it
# finished. At the end every member is published as OUT/published/<setting>_mnist_seed<N>.pt (no
# optimizer state, weights in float16 as the committed models are), <setting> being the name that
# the ablation gives its setting's runs, and the lot is packed into OUT/published.tar.part-aa, -ab, ...
# of at most 15 MiB each (the device machine returns files of 16 MiB at most). Back on the CPU,
# `cat OUT/published.tar.part-* | tar -x -C FOLDER` unpacks it, and the ablation scores the copies
# in FOLDER as they are, training nothing:
#   python -m catvae_lit ablation --settings 'AAE, paper' 'CatVAE, paper' 'InfoCatVAE, paper' \
#       'InfoCatVAE, paper + double-softmax information' --datasets MNIST --seeds 0 1 2 \
#       --epochs 600 --out FOLDER
# and `python -m catvae_lit table1 FOLDER/*_mnist_seed*.pt --out FOLDER/table1` scores them as table 1.
#
# Try it on the CPU first, at a tiny budget:
#   EPOCHS=2 SUBSET=512 DEVICE=cpu OUT=runs/gpu-try bash benchmarks/gpu_budget.sh
# On the GPU machine (the source tree, MNIST carried into data/), with GRAPH=1 if the graph pays:
#   PYTHONPATH=src CATVAE_DATA_DIR=data EPOCHS=600 DEVICE=cuda GRAPH=1 bash benchmarks/gpu_budget.sh
set -euo pipefail

EPOCHS=${EPOCHS:-600}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-runs/gpu}
PYTHON=${PYTHON:-python3}
# SEEDS="0 1 2 3 4": more members per ensemble, and more power to the findings' tests: Holm's
# correction over 57 comparisons (the findings' family at 100 epochs) passes its first at |t| > 8.9
# with 3 seeds a side (Welch, about 4 degrees of freedom), at |t| > 5.1 with 5 (about 8)
read -r -a SEEDS <<< "${SEEDS:-0 1 2}"
SUBSET_OPTIONS=()
[ -n "${SUBSET:-}" ] && SUBSET_OPTIONS=(--subset "$SUBSET")
# GRAPH=1: the ensembles record their step as a CUDA graph (CUDA only; benchmarks/gpu_steps.py says
# whether it pays)
GRAPH_OPTIONS=()
[ "${GRAPH:-0}" = 1 ] && GRAPH_OPTIONS=(--cuda-graph)

mkdir -p "$OUT/published"
progress() { echo "$(date -u +%H:%M:%S) $*" >> "$OUT/progress.log"; }
wait_for() {  # wait_for WHAT PIDS...: fail, saying WHAT, if any of the processes failed
    local what=$1 failed=0
    shift
    for pid in "$@"; do
        wait "$pid" || failed=1
    done
    [ "$failed" = 0 ] || { progress "some $what failed; see their logs"; exit 1; }
}

# the ablation's name of a setting's runs (its run_path): the train options of that setting
declare -A ENSEMBLES=(
    [catvae-paper]="--model catvae"
    [infocatvae-paper]="--model infocatvae"
    [infocatvae-paper-double-softmax-information]="--model infocatvae --info-loss double-softmax --beta-info 0.78"
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
    train "$name" ${ENSEMBLES[$name]} --seeds "${SEEDS[@]}" "${GRAPH_OPTIONS[@]}" & pids+=($!)
done
for seed in "${SEEDS[@]}"; do
    train "aae-paper_seed$seed" --model aae --seed "$seed" & pids+=($!)
done
wait_for runs "${pids[@]}"

# Each copy is scored again on the test split after its weights are rounded (publish --float16), on
# the CPU: the copies are published side by side, one thread each.
publish() {  # publish SOURCE TARGET [OPTIONS...]
    OMP_NUM_THREADS=1 "$PYTHON" -m catvae_lit publish "$@" --float16 --overwrite >> "$OUT/publish.log" 2>&1
}
pids=()
for name in "${!ENSEMBLES[@]}"; do
    for member in "${!SEEDS[@]}"; do
        publish "$OUT/$name.pt" "$OUT/published/${name}_mnist_seed${SEEDS[$member]}.pt" \
            --member "$member" & pids+=($!)
    done
done
for seed in "${SEEDS[@]}"; do
    publish "$OUT/aae-paper_seed$seed.pt" "$OUT/published/aae-paper_mnist_seed$seed.pt" & pids+=($!)
done
wait_for publications "${pids[@]}"
rm -f "$OUT"/published.tar.part-*
tar -cf - -C "$OUT/published" --exclude "*.lock" . | split -b 15m - "$OUT/published.tar.part-"
progress "published $(find "$OUT/published" -name '*.pt' | wc -l) checkpoints into $OUT/published.tar.part-*"
