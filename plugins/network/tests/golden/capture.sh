#!/bin/sh
# Captures the golden packets in this directory from the real collectd 5.12.
#
# collectd runs with the unixsock and network plugins; three <Server>s on
# loopback use SecurityLevel None, Sign and Encrypt (user "golden", password
# "goldenpass"). A small Python UDP listener saves every datagram it gets.
# Fixed value lists are injected with `collectdctl putval` (fixed times and
# values, so the expected decode in expected.txt is exact), plus one
# notification with `putnotif`, then `collectdctl flush` sends the buffers.
#
# Usage: plugins/network/tests/golden/capture.sh   (writes *.bin next to it)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $cpid $lpid 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/listen.py" <<'EOF'
import socket, select, sys, time
out = sys.argv[1]
socks = {}
for name, port in (("none", 27001), ("sign", 27002), ("encrypt", 27003)):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    socks[s] = (name, 0)
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select(list(socks), [], [], 0.5)
    for s in r:
        data = s.recv(65535)
        name, n = socks[s]
        with open("%s/%s-%d.bin" % (out, name, n), "wb") as f:
            f.write(data)
        socks[s] = (name, n + 1)
EOF

cat >"$work/collectd.conf" <<EOF
Hostname "golden.example"
Interval 10
TypesDB "/usr/share/collectd/types.db"
BaseDir "$work"
PIDFile "$work/collectd.pid"
LoadPlugin unixsock
LoadPlugin network
<Plugin unixsock>
  SocketFile "$work/sock"
</Plugin>
<Plugin network>
  <Server "127.0.0.1" "27001">
    SecurityLevel None
  </Server>
  <Server "127.0.0.1" "27002">
    SecurityLevel Sign
    Username "golden"
    Password "goldenpass"
  </Server>
  <Server "127.0.0.1" "27003">
    SecurityLevel Encrypt
    Username "golden"
    Password "goldenpass"
  </Server>
</Plugin>
EOF

python3 "$work/listen.py" "$work" & lpid=$!
/usr/sbin/collectd -f -C "$work/collectd.conf" & cpid=$!
i=0; while [ ! -S "$work/sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ctl="collectdctl -s $work/sock"
$ctl putval "golden.example/cpu-0/derive-user" interval=10 1700000000:12345
$ctl putval "golden.example/cpu-0/derive-system" interval=10 1700000000:42
$ctl putval "golden.example/memory/gauge-used" interval=10 1700000000:1.5
$ctl putval "golden.example/interface-lo/if_octets" interval=10 1700000001:100:200
$ctl putval "golden.example/app/counter-requests" interval=20 1700000001:18446744073709551615
$ctl putval "golden.example/app/absolute-events" interval=20 1700000001:7
$ctl putval "other.example/df-root/df_complex-free" interval=10 1700000002:-0.25
sleep 1
$ctl flush plugin=network
sleep 1
# collectdctl has no putnotif: speak the unixsock protocol directly.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"PUTNOTIF host=golden.example plugin=app type=gauge severity=warning time=1700000003 message=\"golden notification\"\n"); print(s.recv(200))' "$work/sock"
sleep 1
kill $cpid; wait $cpid || true
sleep 1
kill $lpid; wait $lpid || true
for f in "$work"/*.bin; do cp "$f" "$here/"; done
ls -l "$here"/*.bin
