#!/usr/bin/env bash
# Run the conformance suite and `multiact check` on every CUDA backend present
# (torch, cupy, jax) and write docs/gpu-results.md.  One command for a GPU host:
#   bash conformance/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-reports}
mkdir -p "$out" docs
backends=()
for b in torch cupy jax; do
  if python -c "from multiact._check.targets import devices; import sys; sys.exit(0 if any(d in ('cuda','gpu') for d in devices('$b')) else 1)" 2>/dev/null; then
    backends+=(--backend "$b")
  fi
done
if [ ${#backends[@]} -eq 0 ]; then echo "no CUDA backend found" >&2; exit 2; fi
device=$(python -c "import torch; print(torch.cuda.get_device_name(0))" 2>/dev/null || echo "unknown GPU")
python -m multiact check "${backends[@]}" --device cuda | tee "$out/check.txt"; rc1=${PIPESTATUS[0]}
python -m pytest conformance -q -p no:cacheprovider "${backends[@]}" --device cuda \
  --report "$out/conformance.json" 2>&1 | tail -n 40 | tee "$out/pytest.txt"; rc2=${PIPESTATUS[0]}
{
  echo "# GPU conformance results"
  echo
  echo "Device: $device. Date: $(date -u +%Y-%m-%d). Command: \`bash conformance/gpu.sh\`."
  echo "Exit codes: multiact check $rc1, pytest conformance $rc2."
  echo
  echo '```'; cat "$out/check.txt"; echo '```'
  echo
  echo '```'; tail -n 15 "$out/pytest.txt"; echo '```'
} > docs/gpu-results.md
exit $(( rc1 || rc2 ))
