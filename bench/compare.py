#!/usr/bin/python3
"""loom against PyTorch on the same GPT configurations, side by side in one run.

    /usr/bin/python3 bench/compare.py                  # everything, 3 repeats (about an hour on 2 cores)
    /usr/bin/python3 bench/compare.py --configs C3 --repeats 1

For every configuration and measurement it runs bench/loom_bench (build/bench/loom_bench, from
a Release build: scripts/setup.sh) and bench/torch_bench.py (Debian's python3-torch) in turn,
each measurement in a fresh process, --repeats times, and prints a Markdown table of medians:
training tokens/s (forward + backward + clip + AdamW), forward-only tokens/s, batch-1 decode
tokens/s with a KV cache, achieved GFLOP/s and peak resident memory, with the loom/PyTorch
ratio. A probe first measures this machine's limits (fp32 FMA, fp32 and bf16 GEMM, memory read
bandwidth) in the same run. "train-bf16" rows train with bf16 matmul products on both sides
(loom --bf16 1 against PyTorch's torch.autocast(cpu, bfloat16)).

Environments (--envs): "best" gives PyTorch its best settings on this machine, for both sides
and for this command only: OPENBLAS_L2_SIZE unset, OMP_WAIT_POLICY=PASSIVE (OpenMP threads
otherwise spin against OpenBLAS's) and OPENBLAS_CORETYPE set to whichever of OpenBLAS's
kernels runs PyTorch's fp32 matmul fastest here, measured first (--coretype to fix it): left
to itself, OpenBLAS may not recognise a new CPU and fall back to its oldest x86-64 kernels
(on this machine it picks "Prescott", 6-8x slower than "SkylakeX"), and a Haswell core type
set in the environment halves its GEMM on others. "as-is" runs with the environment as it
was handed over.

Debian's PyTorch does its matrix products through the system BLAS (libblas.so.3). With only the
reference BLAS installed it is about 50 times slower than with OpenBLAS, which would make the
comparison meaningless, so this script refuses to run until an optimized BLAS is selected:

    apt-get install python3-torch libopenblas0-pthread
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CONFIGS = {
    "C1": dict(vocab=50257, layers=12, heads=12, embd=768, batch=4, seq=256),
    "C2": dict(vocab=50257, layers=6, heads=6, embd=384, batch=8, seq=256),
    "C3": dict(vocab=65, layers=4, heads=4, embd=256, batch=16, seq=128),
    "decode": dict(vocab=50257, layers=12, heads=12, embd=768, batch=1, seq=256, prompt=32, new=128),
}
MODES = {"C1": ["train", "train-bf16", "forward"], "C2": ["train", "train-bf16", "forward"],
         "C3": ["train", "train-bf16", "forward"], "decode": ["decode"]}


def split_mode(mode):
    """'train-bf16' -> ('train', loom flags, torch flags): bf16 matmul products on both sides
    (loom --bf16 1: bf16 products, fp32 sums, weights and optimizer; PyTorch: torch.autocast
    to bfloat16 on the CPU)."""
    if mode.endswith("-bf16"):
        return mode[: -len("-bf16")], ["--bf16", "1"], ["--bf16"]
    return mode, [], []


def env_for(name, coretype=""):
    env = dict(os.environ)
    if name == "best":
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        if coretype:
            env["OPENBLAS_CORETYPE"] = coretype
    return env


# OpenBLAS x86-64 kernel families worth trying, with the CPU flags each needs.
CORETYPES = [("SkylakeX", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}),
             ("Cooperlake", {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"}),
             ("Haswell", {"avx2", "fma"}), ("Zen", {"avx2", "fma"}), ("Sandybridge", {"avx"})]

MATMUL_PROBE = """
import os, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.randn(1024, 768), torch.randn(768, 2304)
for _ in range(3): torch.mm(a, b)
ts = []
for _ in range(7):
    t = time.perf_counter(); torch.mm(a, b); ts.append(time.perf_counter() - t)
print(2 * 1024 * 768 * 2304 / sorted(ts)[3] / 1e9)
"""


def pick_coretype(threads):
    """Times PyTorch's fp32 matmul (a C1 shape) under each OpenBLAS kernel family this CPU can
    run, and under OpenBLAS's own choice; returns (best setting or "", report line)."""
    try:
        flags = set(open("/proc/cpuinfo").read().split())
    except OSError:
        flags = set()
    results = []
    for name in [""] + [n for n, need in CORETYPES if need <= flags]:
        env = env_for("best", name)
        env["OPENBLAS_VERBOSE"] = "2"
        p = subprocess.run([sys.executable, "-c", MATMUL_PROBE, str(threads)], env=env, capture_output=True,
                           text=True)
        if p.returncode != 0:
            continue
        core = next((l.split(":", 1)[1].strip() for l in (p.stdout + p.stderr).splitlines()
                     if l.startswith("Core:")), "?")
        results.append((float(p.stdout.strip().splitlines()[-1]), name, core))
    if not results:
        return "", "PyTorch matmul probe failed; OPENBLAS_CORETYPE left unset"
    best = max(results)
    line = ", ".join(f"{name or 'unset'} ({core}) {g:.0f} GFLOP/s" for g, name, core in results)
    return best[1], f"PyTorch fp32 matmul 1024x768x2304 by OpenBLAS kernel (OPENBLAS_CORETYPE): {line}; using " + \
        (best[1] or "unset")


def run_one(cmd, env):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def flags(cfg, a):
    out = []
    for k, v in cfg.items():
        out += [f"--{k}", str(v)]
    return out + ["--threads", str(a.threads), "--steps", str(a.steps), "--warmup", str(a.warmup)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="C1,C2,C3,decode")
    ap.add_argument("--envs", default="best,as-is")
    ap.add_argument("--modes", default="", help="only these measurements, e.g. train-bf16 (default: all of each config)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per measurement (median taken)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--loom_bench", default=os.path.join(ROOT, "build", "bench", "loom_bench"))
    ap.add_argument("--json", help="also write every raw measurement here")
    ap.add_argument("--coretype", default=None,
                    help="OPENBLAS_CORETYPE for the best environment (\"\" for unset; default: the fastest, measured)")
    ap.add_argument("--no_profile", action="store_true",
                    help="skip the extra profiled loom run per measurement (LOOM_PROFILE; first environment only)")
    a = ap.parse_args()
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    if not any(k in blas for k in ("openblas", "blis", "atlas", "mkl")):
        sys.exit(f"compare.py: libblas.so.3 is {blas}, the reference BLAS; PyTorch would be measured far below its "
                 "speed. Install an optimized one: apt-get install libopenblas0-pthread")
    if not os.path.exists(a.loom_bench):
        sys.exit(f"compare.py: {a.loom_bench} not found; build loom first (scripts/setup.sh)")
    torch_cmd = [sys.executable, os.path.join(HERE, "torch_bench.py")]
    raw = []
    profiles = []

    if a.coretype is None:
        coretype, report = pick_coretype(a.threads)
        print(report)
    else:
        coretype = a.coretype
        print(f"OPENBLAS_CORETYPE for the best environment: {coretype or 'unset'} (--coretype)")
    raw.append({"openblas_coretype_best": coretype})
    probe = run_one([a.loom_bench, "probe", "--threads", str(a.threads)], env_for("best", coretype))
    raw.append(probe)
    print(f"Machine limits ({a.threads} threads, measured now): fp32 FMA peak {probe['fma_gflops']:.0f} GFLOP/s "
          f"({probe['fma_isa']}), oneDNN sgemm 2048^3 {probe['sgemm_2048_gflops']:.0f} GFLOP/s, loom sgemm "
          f"{probe['loom_gemm_2048_gflops']:.0f} GFLOP/s, loom bf16 GEMM {probe['loom_gemm_bf16_2048_gflops']:.0f} "
          f"GFLOP/s ({probe['bf16_isa']}), memory read "
          f"{probe['read_gb_per_s']:.1f} GB/s (so fp32 batch-1 decoding of C1, about 124 M weights = 495 MB read per token, is "
          f"bound near {probe['read_gb_per_s'] * 1e9 / 495e6:.0f} tokens/s)\n")
    print("| config | measurement | environment | loom tokens/s | PyTorch tokens/s | loom / PyTorch | "
          "loom GFLOP/s | PyTorch GFLOP/s | loom peak MB | PyTorch peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for env_name in a.envs.split(","):
        env = env_for(env_name, coretype)
        for cname in a.configs.split(","):
            cfg = CONFIGS[cname]
            for mode in MODES[cname]:
                if a.modes and mode not in a.modes.split(","):
                    continue
                loom_runs, torch_runs = [], []
                base, loom_extra, torch_extra = split_mode(mode)
                for _ in range(a.repeats):
                    loom_runs.append(run_one([a.loom_bench, base] + flags(cfg, a) + loom_extra, env))
                    torch_runs.append(run_one(torch_cmd + [base] + flags(cfg, a) + torch_extra, env))
                for r in loom_runs + torch_runs:
                    r.update(config=cname, env=env_name, mode=mode)
                raw += loom_runs + torch_runs

                def med(runs, key):
                    return statistics.median(r[key] for r in runs)

                if not a.no_profile and env_name == a.envs.split(",")[0]:
                    prof = run_one([a.loom_bench, base] + flags(cfg, a) + loom_extra + ["--profile", "1"], env)
                    prof.update(config=cname, env=env_name, mode=mode)
                    raw.append(prof)
                    profiles.append(prof)
                lt, tt = med(loom_runs, "tokens_per_s"), med(torch_runs, "tokens_per_s")
                print(f"| {cname} | {mode} | {env_name} | {lt:,.0f} | {tt:,.0f} | {lt / tt:.2f}x | "
                      f"{med(loom_runs, 'gflops'):.0f} | {med(torch_runs, 'gflops'):.0f} | "
                      f"{med(loom_runs, 'peak_rss_mb'):,.0f} | {med(torch_runs, 'peak_rss_mb'):,.0f} |", flush=True)
    if profiles:
        print("\nWhere loom's time goes (one profiled run each, environment " + a.envs.split(",")[0] +
              "; ms per step; an op's backward is listed apart; \"other\" is time outside any op):\n")
        for p in profiles:
            items = sorted(p["profile_ms_per_step"].items(), key=lambda kv: -kv[1])
            total = sum(v for _, v in items)
            top = ", ".join(f"{k} {v:.1f} ({100 * v / total:.0f}%)" for k, v in items[:8])
            print(f"- {p['config']} {p['mode']}: {total:.1f} ms/step: {top}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
