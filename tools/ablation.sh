#!/usr/bin/env bash
# Each training choice at equal training time: 10 minutes (the notebook's budget) on
# 2 cores, turned into steps with the time per step measured on a quiet machine
# (latent batch 64: 0.44 s, batch 128: 0.846 s, pixel batch 64: 31.6 s), so that a
# busy machine changes how long this takes but not what it measures.
# Usage: tools/ablation.sh [OUT]   (results in OUT/*/evaluation.json; about 1.5 hours)
set -euo pipefail
out=${1:-runs/ablation}
ldm=${LDM:-target/release/ldm}
run() {  # name, per-digit count for evaluate, then train options
  local name=$1 n=$2; shift 2
  if [ ! -f "$out/$name/evaluation.json" ]; then
    "$ldm" train --out "$out/$name" --minutes 1000 "$@"
    "$ldm" evaluate --run "$out/$name" -n "$n"
  fi
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f'{sys.argv[2]:14} steps {r[\"train_step\"]:>5}  accuracy {100*r[\"prompt_accuracy\"]:5.1f} %  frechet {r[\"frechet_generated_vs_heldout\"]:6.1f}')" "$out/$name/evaluation.json" "$name"
}
run default 50 --steps 1364
run pixel 10 --steps 19 --space pixel --batch-size 64
run default-init 50 --steps 1364 --default-init
run cosine 50 --steps 1364 --schedule cosine
run batch-128 50 --steps 709 --batch-size 128
