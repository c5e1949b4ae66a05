#!/usr/bin/env bash
# The GPU machine's one prepared run: what a GPU must show, each step within its own
# time, everything written to $OUT as it goes (a run cut short still reports).  From
# the repository's root:
#   bash conformance/device_wheels.sh   # first, where PyPI is reachable: .whl/ (carry it)
#   bash conformance/device_run.sh      # on the GPU machine: 555 s of limits (give the
#                                       # call 590: a step's kill waits 10 s more)
#   DEVICE_RUN_STEPS="conform bench" bash conformance/device_run.sh   # a rerun of some steps
#   DEVICE_RUN_DEVICE=cpu bash conformance/device_run.sh   # this script's plumbing, on CPU
# The steps, in order (seconds at most; DEVICE_RUN_SCALE multiplies them):
#   info     (15)  the GPU, its driver, the versions of torch, CuPy, JAX, Triton
#   aot      (40)  multiact compile --target cuda:<this GPU's arch>: every kernel ahead of
#                  time, cold (empty caches), then again from its cache; each kernel's seconds
#   jit      (25)  multiact compile --function gelu --function softmax (float32, bfloat16):
#                  Triton's JIT on this GPU (each kernel launched once), cold, then warm;
#                  a sample (every kernel, one after another, would take minutes: the rest
#                  compile in conform's workers)
#   conform  (330) bash conformance/gpu.sh, its benchmark left out: multiact check and the
#                  conformance suite (values, gradients, transforms, OpInfo) on torch-cuda,
#                  cupy and jax-gpu with the fused kernels on every call (pytest-xdist's
#                  12 workers), and torch's framework paths; 305 s for the three; writes
#                  gpu-results.md and pytest.txt (both passes' whole output)
#   bench    (60)  python benchmarks/run.py --gpu, float32 and bfloat16, 2^26 elements
#                  (8192 x 8192 rows), the copy bandwidth measured in the same run
#   first    (45)  python benchmarks/first_call.py --device cuda --budget 30: each
#                  function's first call on new shapes, dtypes and layouts against native,
#                  a fresh process (no call started after 30 s: the table says so)
#   models   (40)  python benchmarks/models.py --device cuda: BERT (exact GELU) in float32
#                  and bf16 autocast, an MLP, multiact against native, one interleaved run
# $OUT (reports/device without one) gets at most 8 files, the device tool's limit:
# log.txt (everything, in order), steps.md (each step's exit status and seconds; 124:
# out of time), gpu-results.md, performance-gpu.md, first-call.md and models.md (for
# docs/), compile.txt, pytest.txt (multiact check's matrix is in gpu-results.md).
# Then, here: gpu-results.md becomes docs/gpu-results.md, and performance-gpu.md with
# first-call.md and models.md below its table docs/performance-gpu.md; commit them.
# The caches stay in /tmp/device_run_cache (cold on a fresh machine; a rerun on the
# same machine reuses them, and multiact compile says so).
# The device tool's call: command "bash conformance/device_run.sh", carry [".whl"],
# timeout_s 590.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/reports/device}
mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
tee_pid=$!
all="info aot jit conform bench first models"
steps=${DEVICE_RUN_STEPS:-$all}
for s in $steps; do
  case " $all " in *" $s "*) ;; *) echo "unknown step $s (the steps: $all)" >&2; exit 2;; esac
done
scale=${DEVICE_RUN_SCALE:-1}
dev=${DEVICE_RUN_DEVICE:-cuda}
work=$(mktemp -d /tmp/device_run.XXXXXX)
cache=/tmp/device_run_cache
mkdir -p "$cache"

# `python` is the interpreter that holds torch (the GPU machine has only python3)
# (a wrapper, not a link: a virtual environment's python3 reached through a link
# elsewhere is no longer in its environment)
mkdir -p "$work/bin"
printf '#!/bin/sh\nexec %q "$@"\n' "$(command -v python3)" > "$work/bin/python"
chmod +x "$work/bin/python"
export PATH="$work/bin:$PATH"
# the packages that machine lacks, from the carried wheels (conformance/device_wheels.sh):
# pure Python, unpacked as they are (no pip needed: that environment may have none)
if ! python -c "import array_api_compat, expecttest" 2>/dev/null; then
  if ls .whl/*.whl > /dev/null 2>&1; then
    for w in .whl/*.whl; do python -m zipfile -e "$w" "$cache/site"; done
  else
    echo "array-api-compat or expecttest is missing and no .whl/ was carried:" \
      "run bash conformance/device_wheels.sh here first" >&2
  fi
fi
export PYTHONPATH="$root/src:$cache/site${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
# JAX would take 75% of the GPU's memory in each process (pytest's workers, too)
export XLA_PYTHON_CLIENT_PREALLOCATE=false
# caches of this script's own (cold on a fresh machine, whatever its image holds)
export TRITON_CACHE_DIR="$cache/triton" MULTIACT_CACHE="$cache/multiact"
export TORCHINDUCTOR_CACHE_DIR="$cache/inductor"
python -c "import multiact, array_api_compat" || { echo "multiact does not import" >&2; exit 2; }
python -c "import expecttest" 2>/dev/null \
  || echo "expecttest is missing: conformance/test_opinfo.py will skip" >&2

printf '| step | exit status | seconds | limit |\n| --- | ---: | ---: | ---: |\n' > "$out/steps.md"
worst=0
step() {  # step NAME SECONDS: the function NAME within SECONDS x scale; its result recorded
  local name=$1 limit
  limit=$(python -c "print(max(1, round($2 * $scale)))")
  case " $steps " in *" $name "*) ;; *) return 0;; esac
  echo "== $name ($(date -u +%H:%M:%S), at most $limit s)"
  local t0=$SECONDS
  # (timeout kills the step's process group; gpu.sh's own timeouts, in groups of their
  # own, end 5 s before conform's, their SIGKILL included)
  timeout -k 10 "$limit" bash -c "$name"
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
  echo "| $name | $rc | $((SECONDS - t0)) | $limit |" >> "$out/steps.md"
  if [ "$rc" -ne 0 ]; then worst=1; fi
}

info() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || true
  python - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for name in ("torch", "triton", "cupy", "jax", "numpy", "transformers", "array_api_compat"):
    try:
        m = importlib.import_module(name)
        print(name, getattr(m, "__version__", "?"))
    except Exception as e:  # noqa: BLE001 - report what is missing, go on
        print(name, "not importable:", type(e).__name__, e)
import torch
if torch.cuda.is_available():
    print("torch cuda", torch.version.cuda, torch.cuda.get_device_name(0),
          torch.cuda.get_device_capability(0))
try:
    import jax
    print("jax devices", jax.devices())
except Exception as e:  # noqa: BLE001
    print("jax devices: none", e)
from multiact._check.report import versions
print("multiact sees", versions())
EOF
}

arch() {  # this GPU's compute capability as multiact compile spells it (cuda:90)
  python -c "import torch; print('cuda:%d%d' % torch.cuda.get_device_capability(0))" 2>/dev/null \
    || echo "cuda:90"
}

twice() {  # twice WHAT ARGS...: multiact compile ARGS cold, then again from the caches
  local what=$1
  shift
  { echo "# multiact compile $* ($what), cold"
    python -m multiact compile "$@"
    local cold=$?
    echo "# the same again, from the caches"
    python -m multiact compile "$@"
    exit $((cold || $?)); } 2>&1 | tee -a "$out/compile.txt" | tail -n 4
  return "${PIPESTATUS[0]}"
}

aot() {
  twice "ahead of time" --target "$(arch)" ${DEVICE_RUN_COMPILE_ARGS:-}
}

jit() {  # (every kernel one after another would take minutes: a sample, cold and warm)
  local sample="--function gelu --function softmax --dtype float32 --dtype bfloat16"
  twice "the local device: Triton's JIT" ${DEVICE_RUN_JIT_ARGS:-$sample}
}

conform() {
  local xdist=()
  if python -c "import xdist" 2>/dev/null; then xdist=(-n 12); fi
  GPU_SH_SKIP_BENCH=1 GPU_SH_OUT="$work/gpu" GPU_SH_DEVICE="$dev" GPU_SH_DOCS="$out" \
    GPU_SH_TIMEOUT=$(python -c "print(max(1, round(330 * $scale) - 25))") \
    GPU_SH_PYTEST_ARGS="${xdist[*]:-}" bash conformance/gpu.sh
  local rc=$?
  for f in pytest pytest-framework; do
    if [ -f "$work/gpu/$f.txt" ]; then echo "# $f.txt"; cat "$work/gpu/$f.txt"; fi
  done > "$out/pytest.txt"
  return $rc
}

bench() {
  if [ "$dev" = cpu ]; then  # the table's code on small CPU tensors
    MULTIACT_KERNELS=framework python benchmarks/run.py --gpu --device cpu --n 65536 \
      --dtype float32 --budget-scale 0.05 --markdown "$out/performance-gpu.md" > /dev/null
  else
    python benchmarks/run.py --gpu --n 67108864 --dtype float32 --dtype bfloat16 \
      --budget-scale 0.2 --markdown "$out/performance-gpu.md" > /dev/null
  fi
}

first() {
  python benchmarks/first_call.py --device "$dev" --budget "$(python -c "print(30 * $scale)")" \
    --markdown "$out/first-call.md" > /dev/null
}

models() {
  local args=(--device "$dev" --no-compile --warm 3 --max-warm 8 --batch 32)
  if [ "$dev" = cpu ]; then args=(--no-compile --warm 1 --max-warm 2); fi
  MULTIACT_KERNELS=${MULTIACT_KERNELS:-fused} python benchmarks/models.py "${args[@]}" \
    > "$out/models.md"
}

export out work dev scale root
export -f info arch twice aot jit conform bench first models
step info 15
step aot 40
step jit 25
step conform 330
step bench 60
step first 45
step models 40
echo "== steps"; cat "$out/steps.md"
ls -l "$out"
rm -rf "$work"
exec >&- 2>&-
timeout 5 tail --pid="$tee_pid" -f /dev/null  # (log.txt whole before the run ends)
exit $worst
