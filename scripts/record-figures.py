#!/usr/bin/env python3
"""Measures, in one sitting, every figure that README.md and docs/*.md quote about today's
code, and records each source in docs/results/NAME.json: the figures, the command that gave
them, the commit, the machine and the date. scripts/sync-docs.py then renders the figures
into the pages (between `<!-- fig: ... -->` markers), and the ctest
'docs: quoted figures match docs/results' fails when a page differs from its results.

  scripts/record-figures.py [SOURCE ...]    (default: every source; build the release preset
                                             first, see scripts/build.sh)

Caffeine needs `apt-get install openjdk-17-jdk-headless libcaffeine-java` (not part of
scripts/setup.sh: only this script uses them); the simulate source stops without them.

Sources: microbench (Google Benchmark, 7 repetitions interleaved at random, medians; the remote cases against
servers started by scripts/servers.sh), simulate (eviction policies on one key stream, and
Caffeine on the same stream when Java and libcaffeine-java are installed), shootout (the
README's first command, also writing docs/shootout.svg), memory_bound (the 60 s
memory-bound campaign of docs/reliability.md), throughput (the hit path against Caffeine,
gencache-bench throughput beside benchmarks/peers/CaffeineThroughput.java), traces (public
real-world traces, from the folder GENCACHE_TRACES names; see TRACES below). Run it on a quiet machine: nothing
else should build or measure meanwhile."""
import datetime
import hashlib
import importlib.util
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile

root = pathlib.Path(__file__).resolve().parent.parent
bench_dir = root / "build" / "release" / "benchmarks"
results_dir = root / "docs" / "results"

# The micro-benchmarks the pages quote. Zipf streams are left to benchmarks.md's own dated
# sections: each takes a minute.
MICROBENCH_FILTER = "|".join([
    "BM_Memoize_Hit$", "BM_MemoryStore_FlatMapFloor$", "BM_MemoryStore_CacheGetHit$",
    "BM_MemoryStore_CacheGetHitUnrelatedBumps$", "BM_MemoryStore_CacheSet$",
    "BM_Peers_NaivePortHit$", "BM_AnyStore_", "BM_Redis_RawGet", "BM_Redis_GetGen/",
    "BM_Redis_GetGenScript", "BM_Redis_BoundGet", "BM_Memcached_RawGet", "BM_Memcached_GetGen/",
    "BM_MemoryStore_ZipfCapacity",
])


def machine():
    cpu = "unknown"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {os.cpu_count()} logical CPUs, Linux {platform.release()}"


def commit():
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The pages and results this sitting rewrites do not change what is measured.
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no",
                            "--", ".", ":!docs/*.md", ":!docs/results", ":!docs/shootout.*",
                            ":!README.md"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return head + ("+uncommitted changes" if dirty else "")


pending = {}  # results files, written only once every source of the sitting succeeded


def write(name, command, figures, artifacts=None):
    """Keeps a results file for the end of the sitting; `artifacts` maps a repository path
    to the bytes to write there (the shoot-out's report and chart), whose hashes
    sync-docs.py checks."""
    doc = {
        "command": command,
        "commit": commit(),
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "figures": dict(sorted(figures.items())),
    }
    if artifacts:
        doc["artifacts"] = {path: hashlib.sha256(data).hexdigest()
                            for path, data in sorted(artifacts.items())}
    pending[name] = (doc, artifacts or {})
    print(f"measured {name}: {len(figures)} figures")


def referenced_figures():
    """(source, key) of every figure the pages quote, read with sync-docs.py's own pattern."""
    spec = importlib.util.spec_from_file_location("sync_docs", root / "scripts" / "sync-docs.py")
    sync_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_docs)
    wanted = set()
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for m in sync_docs.figure.finditer(page.read_text(encoding="utf-8")):
            for key in (m[3], m[4]):
                if key and not key.startswith(":"):
                    wanted.add((m[2], key))
    return wanted


def write_all():
    """Writes the sitting's results, unless one lacks a figure a page quotes (a skipped
    benchmark, a peer left out of the build): then nothing is written."""
    missing = sorted(f"{source}: {key}" for source, key in referenced_figures()
                     if source in pending and key not in pending[source][0]["figures"])
    if missing:
        sys.exit("record-figures: nothing written; the pages quote figures this sitting did "
                 "not produce:\n  " + "\n  ".join(missing))
    results_dir.mkdir(parents=True, exist_ok=True)
    for name, (doc, artifacts) in pending.items():
        for path, data in artifacts.items():
            (root / path).write_bytes(data)
        (results_dir / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n",
                                                  encoding="utf-8")
        print(f"recorded docs/results/{name}.json")


def run(command, **kwargs):
    print("$", " ".join(command), flush=True)
    try:
        return subprocess.run(command, check=True, text=True, **kwargs)
    except subprocess.CalledProcessError as e:
        for stream in (e.stdout, e.stderr):
            if stream:
                print(stream, end="", file=sys.stderr)
        sys.exit(f"record-figures: `{' '.join(command)}` failed (exit {e.returncode}); "
                 "nothing written")


def need_caffeine():
    if not shutil.which("java") or not CAFFEINE.exists():
        sys.exit("record-figures: simulate and throughput run Caffeine beside gencache: "
                 "apt-get install openjdk-17-jdk-headless libcaffeine-java")


CAFFEINE = pathlib.Path("/usr/share/java/caffeine.jar")


def record_microbench():
    # The remote cases need servers: scripts/servers.sh starts them and exports their URLs.
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "bench.json"
        # Repetitions interleaved at random, so that a noisy moment of this shared machine
        # spreads over every case instead of skewing the one that ran through it.
        args = [f"--benchmark_filter={MICROBENCH_FILTER}", "--benchmark_repetitions=7",
                "--benchmark_enable_random_interleaving=true",
                "--benchmark_report_aggregates_only=true", f"--benchmark_out={out}",
                "--benchmark_out_format=json"]
        shell = ('source scripts/servers.sh >/dev/null && '
                 'export GENCACHE_REQUIRE_SERVERS=1 && "$@"')
        run(["bash", "-c", shell, "bash", str(bench_dir / "microbench"), *args], cwd=root)
        report = json.loads(out.read_text())
    failed = sorted({b["run_name"] for b in report["benchmarks"] if b.get("error_occurred")})
    if failed:
        sys.exit("record-figures: nothing written; these benchmarks failed or were skipped: "
                 + ", ".join(failed))
    figures = {}
    for b in report["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"]
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        figures[name] = b["real_time"] * scale
        for counter in ("hit_ratio", "items_per_second"):
            if counter in b:
                figures[f"{name}@{counter}"] = b[counter]
    command = ("source scripts/servers.sh; build/release/benchmarks/microbench "
               + " ".join(a if "filter" not in a else f"'{a}'" for a in args[:-2])
               + "   (medians, time in ns)")
    write("microbench", command, figures)


def record_simulate():
    figures = {}
    java, caffeine = shutil.which("java"), CAFFEINE
    streams = {"zipf0.99": [], "zipf0.8": ["--zipf-s", "0.8"], "zipf1.2": ["--zipf-s", "1.2"],
               "zipf0.99-scans": ["--scans"]}
    with tempfile.TemporaryDirectory() as tmp:
        trace = pathlib.Path(tmp) / "stream.txt"
        for stream, extra in streams.items():
            command = [str(bench_dir / "gencache-bench"), "simulate", *extra,
                       "--write-trace", str(trace)]
            output = run(command, capture_output=True).stdout
            output += run([java, "-cp", str(caffeine),
                           str(root / "benchmarks" / "peers" / "CaffeineReplay.java"),
                           str(trace), "100000"], capture_output=True).stdout
            for policy, ratio in re.findall(r"^\| ([a-z0-9 ]+) \| ([0-9.]+) \|$", output, re.M):
                figures[f"{stream}@{policy.replace(' ', '_')}"] = float(ratio)
    write("simulate",
          "build/release/benchmarks/gencache-bench simulate [--zipf-s S | --scans] "
          "--write-trace T; java -cp /usr/share/java/caffeine.jar "
          "benchmarks/peers/CaffeineReplay.java T 100000   (20M requests, 1M keys, "
          "capacity 100k; Caffeine 2.6.2 from Debian's libcaffeine-java)", figures)


def record_shootout():
    with tempfile.TemporaryDirectory() as tmp:
        report_file, chart_file = pathlib.Path(tmp) / "shootout.json", pathlib.Path(tmp) / "shootout.svg"
        run([str(bench_dir / "gencache-bench"), "--json", str(report_file), "--chart",
             str(chart_file)], stdout=sys.stderr)
        artifacts = {"docs/shootout.json": report_file.read_bytes(),
                     "docs/shootout.svg": chart_file.read_bytes()}
    report = json.loads(artifacts["docs/shootout.json"])
    figures = {}
    for r in report["results"]:
        prefix = f"{r['store']}/{r['threads']}"
        for field in ("ops_per_second", "hit_ratio", "errors", "heap_bytes", "entries"):
            if r.get(field) is not None:
                figures[f"{prefix}@{field}"] = r[field]
        for p in ("p50", "p99", "p999"):
            figures[f"{prefix}@{p}_ns"] = r["latency_ns"][p]
        if r.get("heap_bytes") and r.get("entries"):
            figures[f"{prefix}@bytes_per_entry"] = r["heap_bytes"] / r["entries"]
    write("shootout", "build/release/benchmarks/gencache-bench --json docs/shootout.json "
          "--chart docs/shootout.svg   (the README's first command runs the same)", figures,
          artifacts)


def record_memory_bound():
    tests = root / "build" / "release" / "tests"
    output = run([str(tests / "memory_bound_campaign"), "--seconds", "60", "--max-bytes", "64MiB"],
                 capture_output=True).stdout
    print(output, end="")
    patterns = {
        "sets": r"operations: (\d+) sets", "gib_of_values": r"sets \(([0-9.]+) GiB",
        "times_the_bound": r"GiB of values, (\d+)x the bound", "too_large": r"(\d+) refused as too",
        "busy": r"(\d+) refused as busy", "reads": r"(\d+) reads", "hits": r"(\d+) hits",
        "invalidations": r"(\d+) invalidations", "evictions": r"store: (\d+) evictions",
        "samples": r"samples: (\d+)", "peak_accounted_mib": r"peak accounted ([0-9.]+) MiB",
        "over_bound": r"over the bound: (\d+)", "peak_rss_growth_mib": r"peak ([0-9.]+) MiB \(",
        "peak_rss_growth_x": r"MiB \(([0-9.]+)x the bound\)", "wrong": r"lost or wrong: (\d+)",
        "peak_accounted_percent": r"MiB \(([0-9.]+)% of the bound\)",
    }
    figures = {}
    for name, pattern in patterns.items():
        match = re.search(pattern, output)
        if not match:
            sys.exit(f"record-figures: memory_bound_campaign printed no '{name}':\n{output}")
        figures[name] = float(match[1])
    figures["busy_share"] = figures["busy"] / (figures["sets"] + figures["busy"])
    figures["peak_accounted_share"] = figures.pop("peak_accounted_percent") / 100
    write("memory_bound", "build/release/tests/memory_bound_campaign --seconds 60 "
          "--max-bytes 64MiB   (2 threads, S3-FIFO)", figures)


# Public real-world traces, fetched from their repositories (no download at build time):
# name -> (file under $GENCACHE_TRACES, format, where it comes from).
TRACES = {
    "sprite": ("sprite.trace", "lines", "ben-manes/caffeine simulator/.../parser/lirs/sprite.trace.gz (LIRS)"),
    "multi2": ("multi2.trace", "lines", "ben-manes/caffeine simulator/.../parser/lirs/multi2.trace.gz (LIRS)"),
    "2_pools": ("2_pools.trace", "lines", "ben-manes/caffeine simulator/.../parser/lirs/2_pools.trace.gz (LIRS)"),
    "gli": ("gli.trace", "lines", "ben-manes/caffeine simulator/.../parser/lirs/gli.trace.gz (LIRS)"),
    "ps": ("ps.trace", "lines", "ben-manes/caffeine simulator/.../parser/lirs/ps.trace.gz (LIRS)"),
    "cloudphysics": ("cloudPhysicsIO.oracleGeneral.bin", "oracle-general",
                     "1a1a11a/libCacheSim data/cloudPhysicsIO.oracleGeneral.bin"),
}
TRACE_FRACTIONS = ("0.05", "0.2")


def need_traces():
    folder = pathlib.Path(os.environ.get("GENCACHE_TRACES", ""))
    missing = [f for f, _, _ in TRACES.values() if not (folder / f).is_file()]
    if not os.environ.get("GENCACHE_TRACES") or missing:
        sys.exit("record-figures: traces needs GENCACHE_TRACES, a folder holding "
                 + ", ".join(f for f, _, _ in TRACES.values()) + " (gunzipped; sources: "
                 + "; ".join(src for _, _, src in TRACES.values()) + ")")


def record_traces():
    """Every policy, Belady's optimum and Caffeine on each public trace, with room for 5 %
    and 20 % of its distinct keys. The traces are read from $GENCACHE_TRACES (gunzipped)."""
    need_traces()
    folder = pathlib.Path(os.environ["GENCACHE_TRACES"])
    java, caffeine = shutil.which("java"), CAFFEINE
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        numbered = pathlib.Path(tmp) / "stream.txt"
        for name, (file, form, _) in TRACES.items():
            for fraction in TRACE_FRACTIONS:
                output = run([str(bench_dir / "gencache-bench"), "simulate", "--trace",
                              str(folder / file), "--trace-format", form, "--capacity-fraction",
                              fraction, "--write-trace", str(numbered)],
                             capture_output=True).stdout
                capacity = int(re.search(r"capacity (\d+)", output)[1])
                figures[f"{name}@requests"] = float(re.search(r"stream: (\d+) requests", output)[1])
                figures[f"{name}@keys"] = float(re.search(r"requests, (\d+) keys", output)[1])
                output += run([java, "-cp", str(caffeine),
                               str(root / "benchmarks" / "peers" / "CaffeineReplay.java"),
                               str(numbered), str(capacity)], capture_output=True).stdout
                for policy, ratio in re.findall(r"^\| ([a-z0-9 ]+) \| ([0-9.]+) \|$", output,
                                                re.M):
                    figures[f"{name}/{fraction}@{policy.replace(' ', '_')}"] = float(ratio)
                figures[f"{name}/{fraction}@capacity"] = float(capacity)
    write("traces",
          "GENCACHE_TRACES=DIR scripts/record-figures.py traces: for each trace, "
          "build/release/benchmarks/gencache-bench simulate --trace DIR/FILE --trace-format F "
          "--capacity-fraction {0.05,0.2} --write-trace T, then java -cp "
          "/usr/share/java/caffeine.jar benchmarks/peers/CaffeineReplay.java T CAPACITY. "
          "Traces: " + "; ".join(f"{n} = {src}" for n, (_, _, src) in TRACES.items()),
          figures)


THROUGHPUT_CASES = {"flat-map floor": "floor", "gencache direct get": "direct",
                    "gencache memoized": "memoized", "gencache call_many": "call_many",
                    "Caffeine getIfPresent": "caffeine",
                    "Caffeine getAll": "caffeine_getall"}


def record_throughput():
    """Issue 27's side-by-side: one stream per workload, all keys cached, through gencache
    (gencache-bench throughput) and Caffeine (CaffeineThroughput.java), 1 and 2 threads."""
    java, caffeine = shutil.which("java"), CAFFEINE
    figures = {}
    row = re.compile(r"^\| ([^|]+?) \| (\d+) \| ([0-9.]+)M \|", re.M)
    with tempfile.TemporaryDirectory() as tmp:
        trace = pathlib.Path(tmp) / "stream.txt"
        for workload, keys in (("100k", "100000"), ("1M", "1000000")):
            output = run([str(bench_dir / "gencache-bench"), "throughput", "--keys", keys,
                          "--requests", "10000000", "--threads", "1,2", "--write-trace",
                          str(trace)], capture_output=True).stdout
            output += run([java, "-Xmx8g", "-cp", str(caffeine),
                           str(root / "benchmarks" / "peers" / "CaffeineThroughput.java"),
                           str(trace), "1,2", "2"], capture_output=True).stdout
            print(output, end="")
            for name, threads, rate in row.findall(output):
                case = next((v for k, v in THROUGHPUT_CASES.items() if name.startswith(k)), None)
                if case:
                    figures[f"{workload}/{case}/{threads}"] = float(rate) * 1e6
            missing = [f"{workload}/{c}/{n}" for c in THROUGHPUT_CASES.values() for n in "12"
                       if f"{workload}/{c}/{n}" not in figures]
            if missing:
                sys.exit(f"record-figures: throughput printed no {', '.join(missing)}")
    write("throughput",
          "build/release/benchmarks/gencache-bench throughput --keys K --requests 10000000 "
          "--threads 1,2 --write-trace T; java -Xmx8g -cp /usr/share/java/caffeine.jar "
          "benchmarks/peers/CaffeineThroughput.java T 1,2 2   (K = 100000 and 1000000; "
          "calls per second)", figures)


SOURCES = {"microbench": record_microbench, "simulate": record_simulate,
           "shootout": record_shootout, "memory_bound": record_memory_bound,
           "throughput": record_throughput, "traces": record_traces}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SOURCES)
    for name in chosen:
        if name not in SOURCES:
            sys.exit(f"record-figures: unknown source '{name}' (one of {', '.join(SOURCES)})")
    if {"simulate", "throughput", "traces"} & set(chosen):
        need_caffeine()
    if "traces" in chosen:
        need_traces()
    # The binaries measured are those of the commit the results name.
    run(["scripts/build.sh", "release"], cwd=root, stdout=subprocess.DEVNULL)
    for name in chosen:
        SOURCES[name]()
    write_all()
    print("now run scripts/sync-docs.py to render them into the pages")
