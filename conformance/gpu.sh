#!/usr/bin/env bash
# One command for a GPU host: `multiact check` on every CUDA backend present (torch,
# cupy, jax) as a user runs it (the default mode, or MULTIACT_KERNELS's), the
# conformance suite with the fused kernels on every call (MULTIACT_KERNELS=fused: the
# kernels the default mode swaps in once they have paid for themselves), and for torch
# on the framework paths too (MULTIACT_KERNELS=framework: what the default mode runs
# before); then the GPU benchmark.  Writes docs/gpu-results.md and
# docs/performance-gpu.md (and the raw logs under $GPU_SH_OUT, $OUT or reports/).
#   bash conformance/gpu.sh            # everything, with no time limit
#   GPU_SH_SKIP_BENCH=1 bash conformance/gpu.sh
# (on a GPU machine lent for minutes: conformance/device_run.sh, which sets these knobs)
# Knobs: GPU_SH_PYTEST_ARGS (more pytest arguments, such as "-n 8" with pytest-xdist;
# the matrix JSON is then not written: each worker holds a part), GPU_SH_TIMEOUT
# (seconds for the check and the two pytest passes together: the check at most 120 of
# them, the framework pass at least 40; default: no limit), GPU_SH_DEVICE (cuda; cpu
# runs this script's own steps on CPU, to try it without a GPU), GPU_SH_DOCS (where
# gpu-results.md and performance-gpu.md go; default docs).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${GPU_SH_OUT:-${OUT:-reports}}
docs=${GPU_SH_DOCS:-docs}
mkdir -p "$out" "$docs"
mode=${MULTIACT_KERNELS:-auto}
dev=${GPU_SH_DEVICE:-cuda}
extra=(${GPU_SH_PYTEST_ARGS:-})
limit=()
deadline=$(( SECONDS + ${GPU_SH_TIMEOUT:-0} ))
within() {  # within MOST RESERVE: `limit` for a step of at most MOST s that leaves RESERVE s
  limit=()
  if [ "${GPU_SH_TIMEOUT:-0}" -gt 0 ]; then
    local s=$(( deadline - SECONDS - $2 ))
    if [ "$s" -gt "$1" ]; then s=$1; fi
    if [ "$s" -lt 1 ]; then s=1; fi
    limit=(timeout -s INT -k 20 "$s")  # (SIGINT: pytest still prints its summary)
  fi
}
report=(--report "$out/conformance.json")
case " ${extra[*]:-} " in *" -n "*|*" -n="*|*" --numprocesses"*) report=();; esac
backends=()
for b in torch cupy jax; do
  if python -c "from multiact._check.targets import devices, normalize_device as n
import sys; sys.exit(0 if any(n(d) == n('$dev') for d in devices('$b')) else 1)" 2>/dev/null; then
    backends+=(--backend "$b")
  fi
done
if [ ${#backends[@]} -eq 0 ]; then echo "no backend with device $dev found" >&2; exit 2; fi
device=$(python -c "import torch; print(torch.cuda.get_device_name(0))" 2>/dev/null || echo "unknown GPU")
if [ "$dev" = cpu ]; then device="CPU (GPU_SH_DEVICE=cpu: this script tried without a GPU)"; fi
versions=$(python -c "from multiact._check.report import versions; print(', '.join(f'{k} {v}' for k, v in versions().items()))")

within 120 40
MULTIACT_KERNELS=$mode "${limit[@]}" python -m multiact check "${backends[@]}" --device "$dev" \
  --json "$out/check.json" | tee "$out/check.txt"
rc1=${PIPESTATUS[0]}
within 100000 40
MULTIACT_KERNELS=fused "${limit[@]}" python -m pytest conformance -q -p no:cacheprovider \
  "${backends[@]}" --device "$dev" "${report[@]}" "${extra[@]}" 2>&1 | tee "$out/pytest.txt" \
  | tail -n 40
rc2=${PIPESTATUS[0]}
rc3=0
if printf '%s\n' "${backends[@]}" | grep -qx torch; then
  within 100000 0
  MULTIACT_KERNELS=framework "${limit[@]}" python -m pytest -q -p no:cacheprovider \
    --backend torch --device "$dev" "${extra[@]}" conformance/test_elementwise.py \
    conformance/test_reductions.py \
    2>&1 | tee "$out/pytest-framework.txt" | tail -n 20
  rc3=${PIPESTATUS[0]}
fi
summary() {  # pytest's summary lines (FAILED/ERROR each, and the counts) of the log $1
  local counts='^(=+ )?[0-9]+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed)'
  grep -E "^(FAILED|ERROR|XPASS) |^multiact: not run|$counts|no tests ran|^!+ KeyboardInterrupt" \
    "$1" 2>/dev/null | tail -n 80
  if ! grep -qE "$counts|no tests ran" "$1" 2>/dev/null; then
    echo "(no summary: the pass was stopped before it printed one; its last lines:)"
    tail -n 5 "$1" 2>/dev/null
  fi
}
{
  echo "# GPU conformance results"
  echo
  echo "Device: $device. Date: $(date -u +%Y-%m-%d). Versions: $versions."
  echo "Command: \`bash conformance/gpu.sh\`${GPU_SH_PYTEST_ARGS:+ (pytest arguments:"\
" \`$GPU_SH_PYTEST_ARGS\`)}."
  echo "Exit codes (124 or 137: the pass ran out of time${GPU_SH_TIMEOUT:+,"\
" $GPU_SH_TIMEOUT s for the three}):"
  echo "multiact check (MULTIACT_KERNELS=$mode) $rc1, pytest conformance"
  echo "(MULTIACT_KERNELS=fused) $rc2, pytest conformance torch with"
  echo "MULTIACT_KERNELS=framework $rc3."
  echo
  echo '```'; cat "$out/check.txt"; echo '```'
  echo
  echo '```'; summary "$out/pytest.txt"; echo '```'
  echo
  echo '```'; summary "$out/pytest-framework.txt"; echo '```'
} > "$docs/gpu-results.md"

rc4=0
if [ -z "${GPU_SH_SKIP_BENCH:-}" ]; then
  python benchmarks/run.py --gpu --device "$dev" --markdown "$docs/performance-gpu.md" \
    > "$out/bench.txt" 2>&1
  rc4=$?
  tail -n 80 "$out/bench.txt"
fi
exit $(( rc1 || rc2 || rc3 || rc4 ))
