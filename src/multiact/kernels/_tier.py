"""The compile tier: a kernel is compiled off the caller's thread, once it has
proven hot, and swapped in when it is ready.

No call waits for a compile it did not ask for.  Each kernel (a function, its
parameters, a dtype and a layout class) has a :class:`Slot`.  Until the slot's
kernel is ready, the caller runs its own framework path and reports how long
that took; the slot adds it up.  The rule is ski rental: once a slot's calls
have spent as long on the framework path as compiling its kernel costs, the
kernel is queued for the compile thread, so the time paid in all is at most
twice what the better choice would have paid.  What a compile costs is the
mean of the compiles this process has measured (``DEFAULT_COST`` before the
first).  Slots whose device makes a framework call cost too little to measure
(CUDA launches return before the work is done) queue at once: their compile
(Triton, well under a second) is always worth it there.

* **One compile in flight**: one daemon thread compiles the queued slots in
  order, and ends when the queue is empty (the OpenMP threads that a kernel's
  first run started there end with it: a live second team slows every parallel
  op of the caller's, ``Tier._run``); a compile on a caller's thread
  (``compile_now``) may overlap it, and both count as in flight. At exit no new
  compile starts, and the interpreter waits for those in flight for at most
  ``EXIT_WAIT`` seconds: a process that exited with a real compile in flight
  aborted once in CI ("terminate called without an active exception"), likely
  because Python 3.11-3.13 end a daemon thread that asks for the GIL during
  finalization with ``pthread_exit``, unwinding C++ frames.
* **The swap**: a compiled kernel is published by setting ``slot.kernel`` (one
  attribute write); a thread that read ``None`` runs its framework path.
* **Kept only if it pays**: the first calls of a ready kernel are timed against
  the framework path's time per element; a kernel that is slower in two rounds
  of such calls is retired (the framework path serves that slot from then on).
* **A failure costs one kernel**: a compile or launch that raises marks that
  slot failed, with its reason (one INFO line on the ``multiact`` logger,
  listed by ``multiact info``); every other slot is untouched.
* **fork**: a child process never uses or compiles a kernel of this tier (the
  CPU kernels' OpenMP threads and the compiler's state do not survive a fork);
  it takes the framework paths.
* **Quiet**: a warning raised on the compile thread (torch's own, from the
  compile's imports and tracing) is not shown to the program or recorded by its
  ``catch_warnings``: :func:`_install_quiet_hook` (decision 191).

``compile_now`` compiles a slot on the caller's thread: the ``fused`` mode and
``multiact compile`` ask for that explicitly.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
import threading
import time
import warnings
from collections import deque, namedtuple

from .._locks import ForkSafeLock

__all__ = ["Slot", "Tier", "TIER", "DEFAULT_COST", "Miss", "Pair"]

_LOG = logging.getLogger("multiact")


def failure_reason(exc):
    """The first line of a failed compile's or launch's error, as ``multiact info``
    shows it (at most 300 characters)."""
    return (f"{type(exc).__name__}: {exc}".strip().splitlines() or ["?"])[0][:300]


#: held around a compile on the caller's thread (its warnings ignored): see compile_now
_WARNINGS_LOCK = ForkSafeLock(reentrant=True)

#: ``on`` is True on the compile thread (``Tier._run``): its warnings are not shown
_COMPILE_THREAD = threading.local()

#: ``on`` is True while the garbage collector runs on this thread (``gc.callbacks``):
#: what it frees is the program's, wherever it runs
_IN_GC = threading.local()


def _gc_phase(phase, info):
    _IN_GC.on = phase == "start"


def _install_quiet_hook():
    """Wrap ``warnings._showwarnmsg`` (once per process, when the first compile
    thread starts) so that a warning raised on the compile thread is logged at
    DEBUG on the ``multiact`` logger, not shown or recorded.  Reason: the compile
    runs torch's code (Inductor's first import warned ``torch.jit.script_method is
    deprecated`` 14 times; Dynamo's tracing, ``'has_cudnn' is deprecated``), and
    Python 3.11's warning machinery is the process's: without this, those warnings
    reached the program's stderr under pytest's filters and its own
    ``catch_warnings(record=True)`` blocks, from a compile it did not ask for.
    Filters cannot be set for one thread (``catch_warnings`` there would hide
    other threads' warnings meanwhile, decision 185); the show hook is looked up on
    the module at every warning, and ``catch_warnings`` saves and restores
    ``showwarning`` and ``_showwarnmsg_impl``, not it.  Every other thread's
    warnings pass through unchanged, and so do those of the garbage collector when
    it runs on the compile thread (a program's leaked file or its own ``__del__``:
    a review saw 187 of 423 ResourceWarnings shown while a kernel compiled).  A
    warning not shown is not counted as shown: the filters' registries are reset,
    so the program's own copy of it still shows.  Under ``simplefilter("error")``
    the warning is raised before it is shown: that compile fails, one kernel
    (decision 185)."""
    show = getattr(warnings, "_showwarnmsg", None)
    if show is None or getattr(show, "_multiact_quiet", False):
        return

    def _showwarnmsg(msg):
        if getattr(_COMPILE_THREAD, "on", False) and not getattr(_IN_GC, "on", False):
            _LOG.debug("multiact: a compile warned (not shown): %s: %s",
                       getattr(msg.category, "__name__", msg.category), msg.message)
            reset = getattr(warnings, "_filters_mutated", None)
            if reset is not None:
                reset()
            return
        show(msg)

    _showwarnmsg._multiact_quiet = True
    gc.callbacks.append(_gc_phase)
    warnings._showwarnmsg = _showwarnmsg

#: seconds one compile is taken to cost before this process has measured one
#: (Inductor, one element-wise kernel, its disk cache cold or warm: 1.5-5 s on
#: the 2-core machine of docs/performance.md)
DEFAULT_COST = 3.0
#: timed calls of a ready kernel before it is kept or retired (the first one,
#: which loads the kernel, is not counted)
TRIALS = 4
#: a kernel is retired if it is slower than the framework path by this factor
RETIRE_ABOVE = 1.05
#: ... in this many rounds of TRIALS in a row: one busy moment of the machine (a
#: few slow calls) retired exact GELU's kernel in CI, 2.2x faster than its framework
#: path at 1e7 (decision 92)
RETIRE_ROUNDS = 2
#: the interpreter's thread switch interval while a compile runs in the background
SWITCH_INTERVAL = 0.0002
#: at exit, the longest wait for the compile in flight (then it is abandoned)
EXIT_WAIT = 10.0
#: a ready kernel that misses (its guards reject the call) this many times in
#: a row is compiled again, in the background, for what the calls now look like
MISSES_BEFORE_RECOMPILE = 8
#: ... unless this many compiles in a row served no call, and none ever did: the
#: guards reject something a compile does not reproduce, and the slot is retired
#: for good (compiling the same kernel every eight calls, for good, was the cost:
#: decision 158)
FUTILE_COMPILES = 2



class Miss(Exception):
    """A ready kernel's guards rejected a call (a shape or a global setting it was
    not compiled for): the caller takes its framework path."""


#: a training kernel: ``fwd(x) -> f(x)`` and ``bwd(x, g) -> g f'(x)``, over 1-d tensors
Pair = namedtuple("Pair", "fwd bwd")

COLD, QUEUED, COMPILING, READY, FAILED, RETIRED = (
    "cold", "queued", "compiling", "ready", "failed", "retired")


class Slot:
    """One kernel: its state, the framework time its calls have spent, and the
    compiled callable once it is ready.  ``weight``: how many compiles it takes;
    ``share``: the part of a framework call's cost that its timing sees."""

    __slots__ = ("key", "label", "build", "weight", "share", "state", "kernel", "spent", "elems",
                 "reason", "seconds", "trials", "eager_recent", "kernel_recent", "misses",
                 "strikes",
                 "keep",
                 "generation", "sample", "eager_only", "hits", "served", "futile",
                 "admit", "__weakref__")

    def __init__(self, key, label, build, weight=1.0, share=1.0, eager_only=False):
        self.key, self.label, self.build, self.weight = key, label, build, weight
        self.share = share            # the part of a framework call's cost that is timed
        self.state = COLD
        self.kernel = None            # the compiled callable, once READY
        self.spent = 0.0              # seconds of framework calls so far
        self.elems = 0                # elements those calls processed
        self.reason = ""              # why FAILED or RETIRED
        self.seconds = None           # what the compile took
        self.trials = 0
        self.eager_recent = deque(maxlen=TRIALS)  # framework calls, seconds per element
        self.kernel_recent = []       # the kernel's trial calls, seconds per element
        self.strikes = 0              # rounds of trials the kernel lost (RETIRE_ROUNDS)
        self.keep = False             # never retired (a training kernel: see timed())
        self.misses = 0
        self.generation = 0
        self.sample = None            # what the compile is run on (shapes, dtypes)
        self.eager_only = eager_only  # a framework call's time is not measurable (CUDA)
        self.admit = None             # eager_only: whether a call may start the compile
        #                               (kernels.FirstValues: its parameter values)
        self.hits = 0                 # calls the kernel served
        self.served = 0               # ... when its last compile was asked for
        self.futile = 0               # compiles in a row that served no call

    def __repr__(self):
        return f"<kernel {self.label}: {self.state}{' (' + self.reason + ')' if self.reason else ''}>"

    def report(self):
        return {"kernel": self.label, "state": self.state, "reason": self.reason,
                "compile_seconds": self.seconds, "framework_seconds": round(self.spent, 6),
                "kernel_calls": self.hits}


class Tier:
    """The slots of one process, the compile queue and its thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self.slots: dict = {}
        self._queue: deque = deque()
        self._thread = None
        self.costs: list = []          # measured compile seconds
        self.forked = False
        self.cost_override = None      # tests: a fixed compile cost (0: compile at once)
        # calls of fewer elements are not compared (keep or retire): a small call's
        # time is mostly its fixed cost, and says nothing of a large call's per element
        self.compared_from = 1
        self._flying: set = set()      # the slots compiling, on any thread (under _lock)
        self._filters_outside = None   # the process's filters while compile_now ignores
        self.exiting = False

    # -- the caller's side -------------------------------------------------------------
    def slot(self, key, label, build, weight=1.0, share=1.0, eager_only=False):
        s = self.slots.get(key)
        if s is None:
            with self._lock:
                s = self.slots.get(key)
                if s is None:
                    s = self.slots[key] = Slot(key, label, build, weight, share, eager_only)
        return s

    def cost(self):
        if self.cost_override is not None:
            return self.cost_override
        return sum(self.costs) / len(self.costs) if self.costs else DEFAULT_COST

    def spent(self, slot, seconds, elems, sample):
        """A framework call of ``slot`` took ``seconds`` over ``elems`` elements;
        ``sample()`` gives what to compile on.  Queues the compile when the slot
        has paid for it (ski rental)."""
        slot.spent += seconds
        slot.elems += elems
        if elems >= self.compared_from:
            slot.eager_recent.append(seconds / elems)
        if slot.state is COLD and not self.forked and (
                (slot.admit is None or slot.admit()) if slot.eager_only else
                slot.spent >= self.cost() * slot.weight * slot.share):
            self._enqueue(slot, sample)

    def missed(self, slot, sample):
        """A ready kernel rejected a call (its guards: a shape, a global setting)."""
        slot.misses += 1
        if slot.misses < MISSES_BEFORE_RECOMPILE or slot.state is not READY or self.forked:
            return
        with self._lock:  # (threads missing together: one of them drops the kernel)
            if slot.state is not READY:
                return
            slot.misses = 0
            slot.futile = slot.futile + 1 if slot.hits == slot.served else 0
            slot.served = slot.hits
            # (a kernel that has served calls keeps compiling again: other calls, a
            # global setting that changed for good, may be what it misses now)
            if slot.futile >= FUTILE_COMPILES and slot.hits == 0:
                slot.kernel = None
                slot.state = RETIRED
                slot.reason = (f"its guards rejected every call after {slot.futile} "
                               "compiles in a row")
                _LOG.info("multiact: kernel %s retired: %s", slot.label, slot.reason)
                return
            slot.state = COLD
            slot.kernel = None
            slot.generation += 1
        self._enqueue(slot, sample)

    def timed(self, slot, seconds, elems):
        """A ready kernel's call took ``seconds``: keep it, or retire it once it has
        lost RETIRE_ROUNDS rounds of TRIALS in a row."""
        slot.misses = 0
        if slot.trials >= TRIALS or elems < self.compared_from:
            return
        slot.trials += 1
        if slot.trials == 1:
            return  # the first call pays for loading the kernel: not counted
        slot.kernel_recent.append(seconds / elems)
        # the median against the median, both the size of a few calls: first calls
        # (page faults, loading) and a busy moment slow single calls of either
        if slot.trials == TRIALS and not slot.keep and slot.eager_recent and slot.kernel_recent:
            kernel, eager = _median(slot.kernel_recent), _median(slot.eager_recent)
            if kernel > RETIRE_ABOVE * eager:
                slot.strikes += 1
                if slot.strikes < RETIRE_ROUNDS:  # another round (the loading call is paid)
                    slot.trials, slot.kernel_recent = 1, []
                    return
                slot.kernel = None
                slot.state = RETIRED
                slot.reason = (f"slower than the framework path here ({kernel * 1e9:.2f} "
                               f"against {eager * 1e9:.2f} ns per element)")
                _LOG.info("multiact: kernel %s retired: %s", slot.label, slot.reason)

    def failed(self, slot, exc):
        """A compile or launch raised: this slot takes the framework path from now on."""
        slot.kernel = None
        slot.state = FAILED
        slot.reason = failure_reason(exc)
        _LOG.info("multiact: kernel %s unavailable, the framework path is used (%s)",
                  slot.label, slot.reason)

    def compile_now(self, slot, sample):
        """Compile ``slot`` on this thread (the ``fused`` mode, ``multiact compile``);
        returns the slot."""
        if self.forked:
            return slot
        # Reason: the compile's warnings are the framework's (Inductor's import warned
        # "torch.jit.script_method is deprecated" into the user's program), and under
        # the user's simplefilter("error") one raised inside the compile and failed the
        # kernel for the process (decision 185).  On the caller's thread, which the
        # compile holds anyway; the background thread's compiles leave the process's
        # filters alone (they would hide other threads' warnings meanwhile).  One such
        # compile at a time: catch_warnings saves and restores the one list of filters
        # of the process, and two threads' that overlapped left "ignore" behind.  The
        # slot is claimed under the lock: a thread that waited for it finds the
        # kernel another thread compiled meanwhile, and one that read QUEUED just as
        # the compile thread took the slot waits for that compile (it compiled the
        # slot again, a probe's reading).  At exit no compile starts (the module
        # docstring).  A fork meanwhile: the child restores the filters outside
        # (``_after_fork_in_child``; it kept "ignore" for good, a review found)
        with _WARNINGS_LOCK:
            self._filters_outside = warnings.filters
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    while True:
                        with self._lock:
                            if slot.state in (READY, FAILED, RETIRED) or self.exiting:
                                return slot
                            if slot.state is not COMPILING:  # (the compile thread's: wait)
                                if slot in self._queue:
                                    self._queue.remove(slot)
                                self._claim(slot)
                                break
                        time.sleep(0.005)
                    self._compile(slot, sample)
            finally:
                self._filters_outside = None
        return slot

    # -- the compile thread --------------------------------------------------------------
    def _enqueue(self, slot, sample):
        with self._lock:
            if slot.state is not COLD or self.exiting or self.forked:
                return
            slot.state = QUEUED
            slot.sample = sample
            self._queue.append(slot)
            if self._thread is None or not self._thread.is_alive():
                _install_quiet_hook()
                t = threading.Thread(target=self._run, name="multiact-compile", daemon=True)
                try:
                    t.start()
                except RuntimeError:  # (no new thread: the interpreter is shutting down)
                    self._queue.remove(slot)
                    slot.state, slot.sample = COLD, None
                    return
                self._thread = t

    def _run(self):
        while True:
            with self._lock:
                if not self._queue or self.forked or self.exiting:
                    # Idle: the thread ends (the next compile starts another), and
                    # with it the OpenMP team that a kernel's first run made here.
                    # While a second team lives, libgomp counts more threads than
                    # cores and its workers stop spinning between parallel loops:
                    # each of the caller's parallel ops then waits for a wake-up
                    # (ATen's, 2 threads, 1e5 float32: twice the time, and six
                    # times for a framework path of many small ops)
                    if self._thread is threading.current_thread():
                        self._thread = None
                    return
                slot = self._queue.popleft()
                self._claim(slot)
            # A compile is mostly Python (tracing, code generation): while it holds
            # the GIL, a caller returning from an op waits up to the switch
            # interval (5 ms) to go on, once per op.  For the compile's duration
            # the interval is SWITCH_INTERVAL, so the caller's framework path is
            # not slowed by more than that per op; the user's own setting is
            # restored after (unless the program changed it meanwhile).
            prev = sys.getswitchinterval()
            sys.setswitchinterval(min(prev, SWITCH_INTERVAL))
            ours = sys.getswitchinterval()  # as the interpreter stores it (whole us)
            _COMPILE_THREAD.on = True
            try:
                self._compile(slot, slot.sample)
            finally:
                _COMPILE_THREAD.on = False
                if sys.getswitchinterval() == ours:
                    sys.setswitchinterval(prev)

    def _claim(self, slot):
        # (under _lock) in flight from here: wait() and the exit's wait see it
        slot.state = COMPILING
        self._flying.add(slot)

    def _compile(self, slot, sample):
        """Build a slot claimed by ``_claim``; publish its kernel (or its failure),
        then take it out of the compiles in flight."""
        t0 = time.perf_counter()
        try:
            kernel = slot.build(slot, sample() if callable(sample) else sample)
        except Exception as e:  # noqa: BLE001 - no compiler, an unsupported case: one kernel
            self.failed(slot, e)
        else:
            slot.seconds = time.perf_counter() - t0
            self.costs.append(slot.seconds / slot.weight)
            slot.trials = slot.strikes = 0
            slot.kernel_recent = []
            slot.kernel = kernel
            slot.state = READY
        finally:
            slot.sample = None
            with self._lock:
                if slot.state is COMPILING:  # (KeyboardInterrupt in the build: it may queue
                    slot.state = COLD        # again; it read compiling for good, a review)
                self._flying.discard(slot)

    @property
    def in_flight(self):
        """A slot compiling now (on any thread), or None."""
        return next(iter(list(self._flying)), None)

    def wait(self, timeout=None):
        """Wait until the queue is empty and nothing compiles (benchmarks, tests);
        returns whether it emptied in time."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                idle = not self._queue and not self._flying
            if idle:
                return True
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.01)

    def _at_exit(self):
        # before finalization: no new compile, and the one in flight may finish
        # (bounded), so that no compile thread is inside C++ when finalization ends it
        with self._lock:
            self.exiting = True
        end = time.monotonic() + EXIT_WAIT
        while self._flying and time.monotonic() < end:
            time.sleep(0.01)

    def _after_fork_in_child(self):
        # The parent's compile thread does not exist here and its lock may be held:
        # a fresh lock, no queue, and no kernel of this tier from now on.
        self._lock = threading.Lock()
        self._queue = deque()
        self._thread = None
        self._flying = set()
        self.forked = True
        if self._filters_outside is not None:  # (forked during a compile_now: its "ignore")
            warnings.filters = self._filters_outside
            getattr(warnings, "_filters_mutated", lambda: None)()
            self._filters_outside = None
        for s in list(self.slots.values()):
            s.kernel = None
            if s.state is not FAILED:
                s.state = RETIRED
                s.reason = "forked process: kernels of the parent are not reused"

    def summary(self):
        return [s.report() for s in list(self.slots.values())]


def _median(values):
    v = sorted(values)
    return v[len(v) // 2]


TIER = Tier()
atexit.register(lambda: TIER._at_exit())

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: TIER._after_fork_in_child())
