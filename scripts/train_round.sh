#!/usr/bin/env bash
# One fixed-time training round: the recognizer and the detector fine-tuned side by side from the shipped weights,
# each for SECONDS of wall clock (their learning-rate schedules span that time), on one machine -- how the shipped
# weights were trained further on a lent GPU (see ocrpipe/weights/MODEL_CARD.md).
#
#   scripts/train_round.sh DATA OUT SECONDS [DEVICE]
#
# DATA holds rec/{iiit5k_train,ic15_train,svt_train,sroie_words} (labels.tsv crop sets), e2e/{sroie_dev,wildreceipt}
# (images/ + ann/) and fonts/ (training fonts). Results: OUT/rec (model.pt, log.jsonl) and OUT/det (db.pt,
# checkpoint.pt, log.tsv). Environment: OCRPIPE (the command, default "ocrpipe"), REC_WORKERS, DET_WORKERS, SEED.
# If either run fails, the other is stopped and the script exits non-zero.
set -euo pipefail
data=$1 out=$2 seconds=$3 device=${4:-auto}
ocrpipe=${OCRPIPE:-ocrpipe} seed=${SEED:-7}
mkdir -p "$out"

# shellcheck disable=SC2086  # $ocrpipe may be a command with arguments
$ocrpipe train rec "$out/rec" --init ocrpipe/weights/clip4str-tiny.pt --font-dir "$data/fonts" \
    --real "$data/rec/iiit5k_train" --real "$data/rec/ic15_train" --real "$data/rec/svt_train" \
    --real-caseless "$data/rec/sroie_words" --synth-fraction 0.4 --perms 2 --ctc-weight 1 \
    --batch-size 256 --lr 4e-4 --steps 1000000 --time-limit "$seconds" --val-every 2000 \
    --workers "${REC_WORKERS:-4}" --threads 2 --device "$device" --seed "$seed" > "$out/rec.log" 2>&1 &
rec=$!
# shellcheck disable=SC2086
$ocrpipe train det "$out/det" --init ocrpipe/weights/db-tiny.pt --font-dir "$data/fonts" \
    --ann "$data/e2e/sroie_dev" --ann "$data/e2e/wildreceipt" --synth-fraction 0.6 \
    --batch-size 16 --crop-size 512 --text-focus 0.7 --lr 5e-4 --warmup 100 --steps 1000000 \
    --time-limit "$seconds" --checkpoint-every 500 \
    --workers "${DET_WORKERS:-10}" --threads 2 --device "$device" --seed "$seed" > "$out/det.log" 2>&1 &
det=$!

status=0
for _ in 1 2; do  # the two runs, in the order they end
    if ! wait -n; then
        status=1
        kill "$rec" "$det" 2>/dev/null || true
    fi
done
tail -n 3 "$out/rec.log" "$out/det.log"
exit $status
