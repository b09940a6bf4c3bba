#!/usr/bin/env bash
# Installs the real peers the tests run against, when they are missing:
# collectd 5.12 (daemon, plugins, headers, collectdctl), Go + go-collectd (the
# CloudWatch Agent's parser), Prometheus and InfluxDB (the output tests) and
# clang (bindgen). Debian/Ubuntu only.
set -euo pipefail

need=()
[ -x /usr/sbin/collectd ] || need+=(collectd-core)
command -v collectdctl >/dev/null 2>&1 || need+=(collectd-utils)
# Debian's example collectd.conf loads rrdtool, whose plugin needs librrd
# (a Recommends of collectd-core, which --no-install-recommends skips).
ldconfig -p 2>/dev/null | grep 'librrd\.so\.8' >/dev/null || need+=(librrd8)
[ -f /usr/include/collectd/core/daemon/plugin.h ] || need+=(collectd-dev)
# The differential tests compare the RRD files both daemons write with `rrdtool info`,
# and run Debian's python, perl, write_http and write_prometheus plugins, whose
# libraries collectd-core only Suggests.
command -v rrdtool >/dev/null 2>&1 || need+=(rrdtool)
for lib in libpython3.11:libpython3\.11\.so\.1 libperl5.36:libperl\.so\.5\.36 \
  libcurl3-gnutls:libcurl-gnutls\.so\.4 libyajl2:libyajl\.so\.2 \
  libmicrohttpd12:libmicrohttpd\.so\.12 libprotobuf-c1:libprotobuf-c\.so\.1; do
  ldconfig -p 2>/dev/null | grep "${lib#*:}" >/dev/null || need+=("${lib%%:*}")
done
# The output tests run real servers: Prometheus 2.42 (scrapes write_prometheus,
# receives remote_write) and InfluxDB 1.6 (write_http's InfluxDB format).
[ -x /usr/bin/prometheus ] || need+=(prometheus)
[ -x /usr/bin/influxd ] || need+=(influxdb)
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/collectd.org/network ] || need+=(golang-collectd-dev)
# bindgen needs libclang itself (libclang-cpp, which other packages bring, is not it).
compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null || compgen -G '/usr/lib/*/libclang-[0-9]*.so*' >/dev/null \
  || need+=(clang libclang-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing test peers: ${need[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
