#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""matrix_bench.py - iiostreamd across transports, client counts and block
sizes, beside loopback baselines measured in the same run.

    bench/matrix_bench.py BUILD_DIR [--seconds N] [--clients 1,4,16,64]
                          [--blocks 64K,1M,4M] [--transports copy,zerocopy]
                          [--json FILE] [--png FILE]

For every combination: iiostreamd on the unpaced sim source, N clients of
`iiostream rx --json` for SECONDS, and
  - throughput: the clients' MB/s summed (MB = 10^6 bytes);
  - the daemon's CPU seconds (user + system, /proc/PID/stat) per GB delivered;
  - delivery latency p50/p99 (daemon dequeue to last byte received; the
    worst client's figure);
  - the daemon's peak RSS (VmHWM) in MiB.
Baselines, in the same run, on 127.0.0.1 only: iperf3 with and without -Z,
1 and 4 streams, and BUILD_DIR/bench/raw_send (1 MiB send() loop to a reader
that discards). Prints one table with the ratios; --json writes every figure,
--png a plot (needs Debian's python3-matplotlib for /usr/bin/python3).

sendfile is not in the default list: the daemon refuses it without a
hardware NIC (server/tx/transport.h), so on loopback it would measure copy.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def size_arg(text):
    mult = {"K": 1024, "M": 1024 * 1024}.get(text[-1].upper(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def iiostream_run(build, transport, clients, block, seconds, tmp):
    port_file = os.path.join(tmp, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    # enough blocks for every client's queue of 8 plus the source's share
    nblocks = min(256, max(16, 2 * clients + 8, (64 << 20) // block))
    daemon = subprocess.Popen(
        [f"{build}/server/iiostreamd", "--rate", "0", "--block-size", str(block),
         "--blocks", str(nblocks), "--client-queue", "8", "--transport", transport,
         "--listen", "127.0.0.1:0", "--port-file", port_file, "--log-level", "warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file) and os.path.getsize(port_file):
                break
            time.sleep(0.05)
        url = "tcp://127.0.0.1:" + open(port_file).read().strip()
        cpu0 = cpu_seconds(daemon.pid)
        rx = [subprocess.Popen([f"{build}/client/iiostream", "rx", "--url", url,
                                "--seconds", str(seconds), "--json", "--quiet",
                                "--timeout", "20000"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
              for _ in range(clients)]
        results = []
        for p in rx:
            out, _ = p.communicate()
            lines = [l for l in out.splitlines() if l.startswith("{")]
            if lines:
                results.append(json.loads(lines[-1]))
        cpu = cpu_seconds(daemon.pid) - cpu0
        rss = peak_rss_mib(daemon.pid)
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
    mbps = sum(r["mbytes_per_s"] for r in results)
    gbytes = sum(r["bytes"] for r in results) / 1e9
    p50 = max((r["latency_p50_ms"] or 0) for r in results) if results else 0
    p99 = max((r["latency_p99_ms"] or 0) for r in results) if results else 0
    return {
        "transport": transport, "clients": clients, "block_bytes": block,
        "clients_reporting": len(results), "mbytes_per_s": round(mbps, 1),
        "cpu_s_per_gb": round(cpu / gbytes, 3) if gbytes else None,
        "latency_p50_ms": p50, "latency_p99_ms": p99, "rss_mib": round(rss, 1),
        "lost_blocks": sum(r["lost_blocks"] for r in results),
        "integrity_errors": sum(r["integrity_errors"] for r in results),
    }


def iperf3_run(seconds, streams, zerocopy):
    port = free_port()
    server = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        cmd = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-J",
               "-P", str(streams)] + (["-Z"] if zerocopy else [])
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
        bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
    finally:
        server.wait(timeout=10)
    return round(bps / 8 / 1e6, 1)


def raw_send_run(build, seconds):
    out = subprocess.run([f"{build}/bench/raw_send", "--seconds", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    return json.loads(out.strip().splitlines()[-1])["mbytes_per_s"]


def write_png(path, rows, baselines):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matrix_bench: no PNG: apt-get install python3-matplotlib "
              "(for /usr/bin/python3)", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for (t, b) in sorted({(r["transport"], r["block_bytes"]) for r in rows}):
        pts = sorted((r["clients"], r["mbytes_per_s"]) for r in rows
                     if r["transport"] == t and r["block_bytes"] == b)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                label=f"{t}, {b // 1024} KiB blocks")
    ax.axhline(baselines["raw_send_1"], linestyle="--", color="grey",
               label="raw send() limit, 1 stream")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("clients")
    ax.set_ylabel("MB/s delivered (all clients)")
    ax.set_title("iiostreamd on loopback, unpaced sim source")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"matrix_bench: wrote {path}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--clients", default="1,4,16,64")
    ap.add_argument("--blocks", default="64K,1M,4M")
    ap.add_argument("--transports", default="copy,zerocopy")
    ap.add_argument("--json")
    ap.add_argument("--png")
    a = ap.parse_args()

    base = {}
    for streams in (1, 4):
        for zc in (False, True):
            key = f"iperf3{'_Z' if zc else ''}_P{streams}"
            base[key] = iperf3_run(a.seconds, streams, zc)
            print(f"matrix_bench: {key} {base[key]} MB/s", file=sys.stderr)
    base["raw_send_1"] = raw_send_run(a.build, a.seconds)
    print(f"matrix_bench: raw_send {base['raw_send_1']} MB/s", file=sys.stderr)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in a.transports.split(","):
            for b in [size_arg(x) for x in a.blocks.split(",")]:
                for c in [int(x) for x in a.clients.split(",")]:
                    r = iiostream_run(a.build, t, c, b, a.seconds, tmp)
                    rows.append(r)
                    print(f"matrix_bench: {r}", file=sys.stderr)

    print(f"baselines (MB/s): iperf3 1 stream {base['iperf3_P1']}, -Z {base['iperf3_Z_P1']}; "
          f"4 streams {base['iperf3_P4']}, -Z {base['iperf3_Z_P4']}; raw send() {base['raw_send_1']}")
    hdr = ("transport", "block", "clients", "MB/s", "x raw", "x iperf3-Z", "CPU s/GB",
           "p50 ms", "p99 ms", "RSS MiB", "lost", "errors")
    print("%-9s %6s %7s %8s %6s %10s %9s %7s %7s %8s %7s %6s" % hdr)
    for r in rows:
        iperf = base["iperf3_Z_P1"] if r["clients"] == 1 else base["iperf3_Z_P4"]
        print("%-9s %5dK %7d %8.0f %6.2f %10.2f %9s %7.2f %7.2f %8.1f %7d %6d" % (
            r["transport"], r["block_bytes"] // 1024, r["clients"], r["mbytes_per_s"],
            r["mbytes_per_s"] / base["raw_send_1"], r["mbytes_per_s"] / iperf,
            r["cpu_s_per_gb"], r["latency_p50_ms"], r["latency_p99_ms"], r["rss_mib"],
            r["lost_blocks"], r["integrity_errors"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": os.uname().nodename, "cpus": os.cpu_count(),
                       "seconds": a.seconds, "baselines_mbytes_per_s": base, "runs": rows},
                      f, indent=1)
        print(f"matrix_bench: wrote {a.json}", file=sys.stderr)
    if a.png:
        write_png(a.png, rows, base)


if __name__ == "__main__":
    main()
