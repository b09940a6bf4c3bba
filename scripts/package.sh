#!/usr/bin/env bash
# Builds the rcollectd package from what `make build` left behind:
#   scripts/package.sh deb [OUTDIR]   -> OUTDIR/rcollectd_<version>_<arch>.deb (dpkg-deb)
#   scripts/package.sh rpm [OUTDIR]   -> OUTDIR/rcollectd-<version>-1.<arch>.rpm (rpmbuild)
# OUTDIR defaults to $TARGET/package ($TARGET: the Makefile's, else
# $CARGO_TARGET_DIR, else target/). The files are those of `make install
# DESTDIR=<staging> PREFIX=/usr` plus the default config
# (/usr/share/rcollectd/collectd.conf, copied to /etc/collectd/collectd.conf by
# the maintainer scripts only where none exists), README and copyright; ELF
# files are stripped of debug info. It never runs cargo: `make deb`/`make rpm`
# build first. MAINTAINER overrides the .deb's Maintainer field.
set -euo pipefail

usage() {
  echo "usage: $0 deb|rpm [OUTDIR]" >&2
  exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
format=$1
case "$format" in deb | rpm) ;; *) usage ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
target=${TARGET:-${CARGO_TARGET_DIR:-target}}
case "$target" in /*) ;; *) target=$root/$target ;; esac
out=${2:-$target/package}
mkdir -p "$out"
out=$(cd "$out" && pwd)
umask 022

for f in "$target/release/rcollectd" "$target/plugins"; do
  [ -e "$f" ] || { echo "$f is missing: run \`make build\` first" >&2; exit 1; }
done

# The workspace version ([workspace.package] version = "x.y.z").
version=$(awk -F'"' '/^\[/{s=($0=="[workspace.package]")} s && /^version *=/{print $2; exit}' "$root/Cargo.toml")
[ -n "$version" ] || { echo "no [workspace.package] version in Cargo.toml" >&2; exit 1; }

# Debian installs units under /lib/systemd/system; RPM distributions (whose
# /lib is a symlink owned by the filesystem package) under /usr/lib.
if [ "$format" = deb ]; then systemd_dir=/lib/systemd/system; else systemd_dir=/usr/lib/systemd/system; fi

work=$out/.$format-build
rm -rf "$work"
mkdir -p "$work"
staging=$work/root
# `-o build`: take the build as it is (no cargo run from here).
make --no-print-directory -C "$root" -o build install \
  TARGET="$target" DESTDIR="$staging" PREFIX=/usr SYSTEMD_DIR="$systemd_dir" >/dev/null
install -D -m 0644 "$root/dist/collectd.conf" "$staging/usr/share/rcollectd/collectd.conf"
install -m 0644 "$root/README.md" "$root/dist/deb/copyright" "$staging/usr/share/doc/rcollectd/"
if command -v strip >/dev/null 2>&1; then
  find "$staging" -type f \( -name '*.so' -o -path '*/sbin/rcollectd' \) -exec strip --strip-debug {} +
else
  echo "strip (binutils) is missing: packaging unstripped files" >&2
fi
find "$staging" -type d -exec chmod 0755 {} +
find "$staging" -type f ! -perm -u+x -exec chmod 0644 {} +
default_sha256=$(sha256sum <"$root/dist/collectd.conf" | cut -d' ' -f1)

build_deb() {
  local arch depends deb ctl=$staging/DEBIAN
  arch=$(dpkg --print-architecture)
  # Shared-library dependencies of the binary and plugins, as Debian computes
  # them; dpkg-shlibdeps wants a debian/control, so it gets a minimal one.
  depends=""
  if command -v dpkg-shlibdeps >/dev/null 2>&1; then
    mkdir -p "$work/src/debian"
    printf 'Source: rcollectd\n\nPackage: rcollectd\nArchitecture: any\n' >"$work/src/debian/control"
    depends=$(cd "$work/src" && dpkg-shlibdeps -O "$staging/usr/sbin/rcollectd" "$staging"/usr/lib/rcollectd/*.so 2>/dev/null |
      sed -n 's/^shlibs:Depends=//p') || depends=""
  fi
  # Without dpkg-shlibdeps: GLIBC_2.34 is the newest symbol version used.
  [ -n "$depends" ] || depends="libc6 (>= 2.34), libgcc-s1"
  mkdir -p "$ctl"
  cat >"$ctl/control" <<EOF
Package: rcollectd
Version: $version
Architecture: $arch
Maintainer: ${MAINTAINER:-rcollectd maintainers <maintainers@rcollectd.invalid>}
Installed-Size: $(du -sk --exclude=DEBIAN "$staging" | cut -f1)
Depends: $depends
Suggests: collectd-core
Section: utils
Priority: optional
Description: drop-in replacement for the collectd 5 statistics daemon (Rust)
 rcollectd reads collectd.conf as collectd does, loads collectd 5.12's
 plugins (/usr/lib/collectd/*.so, from collectd-core) and its own
 (/usr/lib/rcollectd), speaks the collectd network protocol and runs under
 systemd as Type=notify. It installs /usr/sbin/rcollectd and
 rcollectd.service next to an installed collectd without touching it; the
 service is neither enabled nor started. /etc/collectd/collectd.conf is
 created from /usr/share/rcollectd/collectd.conf only if it does not exist.
EOF
  for s in postinst prerm postrm; do
    sed "s/@DEFAULT_SHA256@/$default_sha256/g" "$root/dist/deb/$s" >"$ctl/$s"
    chmod 0755 "$ctl/$s"
  done
  (cd "$staging" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) >"$ctl/md5sums"
  chmod 0644 "$ctl/control" "$ctl/md5sums"
  deb=$out/rcollectd_${version}_${arch}.deb
  dpkg-deb --root-owner-group -Zxz --build "$staging" "$deb" >/dev/null
  echo "$deb"
}

build_rpm() {
  command -v rpmbuild >/dev/null 2>&1 ||
    { echo "rpmbuild is missing (Debian: apt-get install rpm; RHEL-likes: dnf install rpm-build)" >&2; exit 1; }
  local top=$work/rpmbuild rpm
  mkdir -p "$top"/{BUILD,RPMS,SOURCES,SPECS,SRPMS}
  rpmbuild -bb --quiet \
    --define "_topdir $top" \
    --define "rc_version $version" \
    --define "rc_staging $staging" \
    --define "rc_default_sha256 $default_sha256" \
    "$root/dist/rpm/rcollectd.spec" >"$work/rpmbuild.log" 2>&1 ||
    { cat "$work/rpmbuild.log" >&2; exit 1; }
  rpm=$(find "$top/RPMS" -name 'rcollectd-*.rpm' | head -n1)
  [ -n "$rpm" ] || { cat "$work/rpmbuild.log" >&2; exit 1; }
  mv "$rpm" "$out/"
  echo "$out/$(basename "$rpm")"
}

"build_$format"
rm -rf "$work"
