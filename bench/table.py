"""Prints bench/run.sh's results as one Markdown table, with each workload's target."""

import gzip
import json
import os
import sys
import timeit

# Targets (issue 7 / PRODUCT.md section 6), by workload prefix: (minimum req/s, maximum p99 ms).
TARGETS = {
    "W1": (5_000, None),
    "W2": (5_000, None),
    "W3": (20_000, None),
    "W4 GET": (20_000, None),
    "W5": (None, 20.0),
    "W6": (None, 20.0),
    # Issue 19: machine clients get their tokens at least as fast as a code is exchanged.
    "W8": (5_000, None),
}
# Targets relative to another workload on the same database: (its prefix, minimum share of its
# requests/s). Issue 19: signing a JWT costs at most a fifth of the opaque rate.
RELATIVE_TARGETS = {
    "W9": ("W8", 0.8),
}
RSS_LIMIT_MB = 100
WASM_LIMIT_BYTES = 300 * 1024


def verdict(label, result, rss_mb, rates):
    checks = []
    for prefix, (other, share) in RELATIVE_TARGETS.items():
        if label.startswith(prefix):
            base = next((rps for (lbl, rps) in rates if lbl.startswith(other)), None)
            checks.append(base is not None and result["rps"] >= share * base)
    for prefix, (min_rps, max_p99) in TARGETS.items():
        if label.startswith(prefix):
            if min_rps is not None:
                checks.append(result["rps"] >= min_rps)
            if max_p99 is not None:
                checks.append(result["p99_ms"] < max_p99)
    checks.append(result["errors"] == 0)
    if rss_mb is not None:
        checks.append(rss_mb < RSS_LIMIT_MB)
    return "ok" if all(checks) else "MISSED"


def gzipped_size(path):
    with open(path, "rb") as file:
        return len(gzip.compress(file.read(), 9))


def hydrate_wasm(pkg_dir):
    """What the browser downloads to hydrate any page: the one islands bundle (the JS glue is
    a few KB besides). Returns (raw bytes, gzipped bytes)."""
    bundle = os.path.join(pkg_dir, "latchkey.wasm")
    return os.path.getsize(bundle), gzipped_size(bundle)


def cpu_model():
    """The CPU's name as the kernel reports it (machines of one kind differ)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def cpu_probe_seconds():
    """Seconds one core takes for a fixed pure-Python loop, best of three: a reading of the
    machine's speed that no Latchkey change moves, so tables from different machines can be
    compared in proportion (lower is faster)."""
    def loop():
        total = 0
        for i in range(3_000_000):
            total += i * i

    return min(timeit.repeat(loop, number=1, repeat=3))


def main():
    path, pkg_dir, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
    print()
    print("| workload | database | concurrency | requests/s | p50 ms | p99 ms | errors | server peak RSS MB | target |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    lines = [line.rstrip("\n").split("|") for line in open(path, encoding="utf-8")]
    rates = {}
    for label, backend, _, raw, _ in lines:
        if raw:
            rates.setdefault(backend, []).append((label, json.loads(raw)["rps"]))
    for label, backend, concurrency, raw, rss_kb in lines:
        if not raw:
            print(f"| {label} | {backend} | {concurrency} | (no result) | | | | | MISSED |")
            continue
        result = json.loads(raw)
        rss_mb = None if rss_kb == "-" else int(rss_kb) / 1024
        rss = "" if rss_mb is None else f"{rss_mb:.0f}"
        print(
            f"| {label} | {backend} | {concurrency} | {result['rps']:,.0f} | {result['p50_ms']:.2f} "
            f"| {result['p99_ms']:.2f} | {result['errors']} | {rss} | {verdict(label, result, rss_mb, rates.get(backend, []))} |"
        )
    wasm_raw, wasm_gz = hydrate_wasm(pkg_dir)
    wasm_ok = "ok" if wasm_gz <= WASM_LIMIT_BYTES else "MISSED"
    print()
    print(
        f"Hydrate WASM (every page): {wasm_raw / 1024:.0f} KB raw, {wasm_gz / 1024:.0f} KB gzipped "
        f"(target <= 300 KB): {wasm_ok}"
    )
    print(f"Whole run: {seconds} s")
    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; CPU probe (a fixed Python loop on one core, "
        f"lower is faster): {cpu_probe_seconds():.2f} s"
    )


if __name__ == "__main__":
    main()
