#!/usr/bin/env python3
"""Regenerates the csv golden files from the real collectd 5.12 csv plugin.

Runs /usr/sbin/collectd with unixsock + Debian's csv.so, feeds value lists with
`collectdctl putval`, and records the lines collectd wrote. Usage:
    python3 plugins/csv/tests/golden/capture.py
"""
import glob, os, socket, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))

# (type, time, values) fed with PUTVAL; each gets its own type instance.
CASES = [
    ("gauge", "1700000000", "3.2"),
    ("gauge", "1700000000.123", "0"),
    ("gauge", "1700000000.5", "-1.5"),
    ("gauge", "1700000001.0005", "U"),
    ("gauge", "1700000002", "1e20"),
    ("gauge", "1700000003", "-1e300"),
    ("gauge", "1700000004", "0.1"),
    ("gauge", "1700000005", "123456789.123456789"),
    ("gauge", "1700000006", "0.0000005"),
    ("gauge", "1700000007", "0.0000015"),
    ("gauge", "1700000008", "2.5e-7"),
    ("gauge", "1700000009", "inf"),
    ("gauge", "1700000010", "-inf"),
    ("gauge", "1700000011", "-0"),
    ("gauge", "1700000012", "1.0000005"),
    ("gauge", "1700000013", "4294967295.999"),
    ("derive", "1700000000", "-5"),
    ("derive", "1700000000", "9223372036854775807"),
    ("derive", "1700000000", "-9223372036854775808"),
    ("counter", "1700000000", "18446744073709551615"),
    ("counter", "1700000000", "0"),
    ("absolute", "1700000000", "42"),
    ("if_octets", "1700000000.999", "1:2"),
    ("load", "1700000000.0004", "0.05:0.5:U"),
    ("uptime", "1700000000.0006", "86400"),
]

# Same identifier twice with StoreRates: the cache's rates are NaN, then the
# per-second difference.
RATE_CASES = [
    ("derive", "1700000000", "100", "nan"),
    ("derive", "1700000010", "150", "5"),
    ("counter", "1700000000", "1000", "nan"),
    ("counter", "1700000004", "1002", "0.5"),
]


def run(conf_extra, feed):
    tmp = tempfile.mkdtemp(prefix="csvgolden.")
    sock = os.path.join(tmp, "sock")
    conf = os.path.join(tmp, "c.conf")
    with open(conf, "w") as f:
        f.write(f'''Hostname "golden"
BaseDir "{tmp}"
PIDFile "{tmp}/pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 10
LoadPlugin unixsock
LoadPlugin csv
<Plugin unixsock>
  SocketFile "{sock}"
</Plugin>
<Plugin csv>
{conf_extra}
</Plugin>
''')
    out = open(os.path.join(tmp, "stdout"), "w")
    p = subprocess.Popen(["/usr/sbin/collectd", "-f", "-C", conf], stdout=out, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        feed(sock)
        time.sleep(1.5)
    finally:
        p.terminate()
        p.wait(10)
    out.close()
    return tmp


def putval(sock, ident, t, values, interval=None):
    # Raw unixsock protocol: collectdctl only accepts integer times.
    if " " in ident or '"' in ident:
        ident = '"' + ident.replace("\\", "\\\\").replace('"', '\\"') + '"'
    opt = f" interval={interval}" if interval else ""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock)
        s.sendall(f"PUTVAL {ident}{opt} {t}:{values}\n".encode())
        reply = s.makefile().readline()
        assert reply.startswith("0 "), (ident, t, values, reply)


def main():
    def feed(sock):
        for i, (ty, t, v) in enumerate(CASES):
            putval(sock, f"golden/g/{ty}-{i}", t, v)
    tmp = tempfile.mkdtemp(prefix="csvdata.")
    run(f'  DataDir "{tmp}"\n  StoreRates false', feed)
    with open(os.path.join(HERE, "lines.tsv"), "w") as g:
        g.write("# type\ttime\tvalues\trates\theader\tline  (captured from collectd 5.12 csv.so)\n")
        for i, (ty, t, v) in enumerate(CASES):
            files = glob.glob(f"{tmp}/golden/g/{ty}-{i}-*")
            assert len(files) == 1, (ty, i, files)
            header, line = open(files[0]).read().splitlines()
            g.write(f"{ty}\t{t}\t{v}\t-\t{header}\t{line}\n")

        def feed_rates(sock):
            for ty, t, v, _ in RATE_CASES:
                putval(sock, f"golden/r/{ty}", t, v)
        tmp2 = tempfile.mkdtemp(prefix="csvrates.")
        run(f'  DataDir "{tmp2}"\n  StoreRates true', feed_rates)
        seen = {}
        for ty, t, v, rate in RATE_CASES:
            files = glob.glob(f"{tmp2}/golden/r/{ty}-*")
            assert len(files) == 1, files
            lines = open(files[0]).read().splitlines()
            k = seen.get(ty, 1)
            seen[ty] = k + 1
            g.write(f"{ty}\t{t}\t{v}\t{rate}\t{lines[0]}\t{lines[k]}\n")

    def feed_stdout(sock):
        putval(sock, "golden/g/gauge-x", "1700000000.25", "3.2", interval="10")
        putval(sock, "golden/my plugin-a b/if_octets-c\"d", "1700000001", "1:2", interval="2.5")
        putval(sock, "golden/g/load", "1700000002", "U:1:2")
    tmp3 = run('  DataDir "stdout"', feed_stdout)
    with open(os.path.join(HERE, "putval.txt"), "w") as g:
        g.write(open(os.path.join(tmp3, "stdout")).read())


if __name__ == "__main__":
    main()
