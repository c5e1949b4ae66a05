#!/usr/bin/env bash
# One command for a GPU host: the conformance matrix on every CUDA backend present
# (torch, cupy, jax), in the default kernel mode and, for torch, on the framework
# paths too; then the GPU benchmark.  Writes docs/gpu-results.md and
# docs/performance-gpu.md (and the raw logs under $OUT or reports/).
#   bash conformance/gpu.sh            # everything (about 8 minutes on an H100)
#   GPU_SH_SKIP_BENCH=1 bash conformance/gpu.sh
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
versions=$(python -c "from multiact._check.report import versions; print(', '.join(f'{k} {v}' for k, v in versions().items()))")

python -m multiact check "${backends[@]}" --device cuda --json "$out/check.json" | tee "$out/check.txt"
rc1=${PIPESTATUS[0]}
python -m pytest conformance -q -p no:cacheprovider "${backends[@]}" --device cuda \
  --report "$out/conformance.json" 2>&1 | tee "$out/pytest.txt" | tail -n 40
rc2=${PIPESTATUS[0]}
rc3=0
if printf '%s\n' "${backends[@]}" | grep -qx torch; then
  MULTIACT_KERNELS=framework python -m pytest -q -p no:cacheprovider --backend torch --device cuda \
    conformance/test_elementwise.py conformance/test_reductions.py 2>&1 | tee "$out/pytest-framework.txt" | tail -n 20
  rc3=${PIPESTATUS[0]}
fi
{
  echo "# GPU conformance results"
  echo
  echo "Device: $device. Date: $(date -u +%Y-%m-%d). Versions: $versions."
  echo "Command: \`bash conformance/gpu.sh\`."
  echo "Exit codes: multiact check $rc1, pytest conformance (kernels: auto) $rc2,"
  echo "pytest conformance torch with MULTIACT_KERNELS=framework $rc3."
  echo
  echo '```'; cat "$out/check.txt"; echo '```'
  echo
  echo '```'; tail -n 25 "$out/pytest.txt"; echo '```'
  echo
  echo '```'; tail -n 10 "$out/pytest-framework.txt" 2>/dev/null; echo '```'
} > docs/gpu-results.md

rc4=0
if [ -z "${GPU_SH_SKIP_BENCH:-}" ]; then
  python benchmarks/run.py --gpu --markdown docs/performance-gpu.md > "$out/bench.txt" 2>&1
  rc4=$?
  tail -n 80 "$out/bench.txt"
fi
exit $(( rc1 || rc2 || rc3 || rc4 ))
