# rcollectd: build, test, run, install.
# `make build` leaves the daemon at $(TARGET)/release/rcollectd, with every
# plugin of ours built in, and each plugin also as $(TARGET)/plugins/<name>.so
# (each crate's `<name>_so` cdylib target; regular files: collectd refuses a
# plugin that is a symlink).

CARGO   ?= cargo
TARGET  ?= $(or $(CARGO_TARGET_DIR),target)
PREFIX  ?= /usr
DESTDIR ?=
SYSTEMD_DIR ?= /lib/systemd/system

# Every crate under plugins/ is a plugin, except `common` (the rlib the
# plugins share); the test-only ones are not installed.
PLUGINS      := $(filter-out common,$(patsubst plugins/%/Cargo.toml,%,$(wildcard plugins/*/Cargo.toml)))
TEST_PLUGINS := example panicky
INSTALL_PLUGINS := $(filter-out $(TEST_PLUGINS),$(PLUGINS))

.PHONY: all build deps test run install lint fmt fuzz fuzz-unixsock clean bench hot-symbols bench-footprint bench-network bench-dispatch bench-cache bench-reload bench-scrape soak deb rpm

all: build

build:
	$(CARGO) build --release --workspace --lib --bins --examples
	mkdir -p $(TARGET)/plugins
	for p in $(PLUGINS); do \
	  install -m 0755 $(TARGET)/release/examples/lib$${p}_so.so $(TARGET)/plugins/$$p.so || exit 1; \
	done

# The real peers the tests run against (collectd 5.12, Go, go-collectd, clang).
deps:
	scripts/install-deps.sh

test: deps lint build
	$(CARGO) test --workspace --no-fail-fast

run: build
	$(TARGET)/release/rcollectd -f -C collectd.conf.d/default.conf

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Coverage-guided fuzzing (needs nightly and cargo-fuzz); SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run config_parser -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && $(CARGO) +nightly fuzz run types_db -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && $(CARGO) +nightly fuzz run unixsock_command -- -max_total_time=$(FUZZ_SECONDS)
	cd plugins/network/fuzz && $(CARGO) +nightly fuzz run decode -- -max_total_time=$(FUZZ_SECONDS)
	$(MAKE) fuzz-unixsock

# Random and mutated unixsock commands into Debian's unixsock.so hosted by
# rcollectd for FUZZ_SECONDS (make test runs a 4 s seeded pass of the same).
fuzz-unixsock: build
	RCOLLECTD_FUZZ_SECONDS=$(FUZZ_SECONDS) RCOLLECTD_FUZZ_SEED=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ') \
	  $(CARGO) test -p rcollectd-tests --test unixsock_fuzz -- --nocapture

install: build
	install -D -m 0755 $(TARGET)/release/rcollectd $(DESTDIR)$(PREFIX)/sbin/rcollectd
	install -d $(DESTDIR)$(PREFIX)/lib/rcollectd
	for p in $(INSTALL_PLUGINS); do \
	  install -m 0644 $(TARGET)/plugins/$$p.so $(DESTDIR)$(PREFIX)/lib/rcollectd/$$p.so || exit 1; \
	done
	install -D -m 0644 share/types.db $(DESTDIR)$(PREFIX)/share/rcollectd/types.db
	install -d $(DESTDIR)$(PREFIX)/include/rcollectd
	cp -r include/collectd/. $(DESTDIR)$(PREFIX)/include/rcollectd/
	install -D -m 0644 dist/systemd/rcollectd.service $(DESTDIR)$(SYSTEMD_DIR)/rcollectd.service
	install -D -m 0644 dist/systemd/collectd.service.d-rcollectd.conf \
	  $(DESTDIR)$(PREFIX)/share/doc/rcollectd/collectd.service.d/rcollectd.conf
	install -d $(DESTDIR)$(PREFIX)/share/doc/rcollectd/examples
	install -m 0644 collectd.conf.d/*.conf docs/cloudwatch.md $(DESTDIR)$(PREFIX)/share/doc/rcollectd/examples/

clean:
	$(CARGO) clean

# Packages of the `install` set plus the default config and maintainer
# scripts, in $(TARGET)/package/: rcollectd_<version>_<arch>.deb (dpkg-deb)
# and rcollectd-<version>-1.<arch>.rpm (rpmbuild; Debian: apt-get install rpm).
deb: build
	TARGET=$(TARGET) scripts/package.sh deb

rpm: build
	TARGET=$(TARGET) scripts/package.sh rpm

# Side-by-side benchmarks against collectd 5.12 (see BENCHMARKS.md). Knobs:
# BENCH_ROUNDS, BENCH_SECONDS, BENCH_FOOTPRINT_SECONDS, BENCH_FULL_SECONDS,
# BENCH_DRAIN_CAP, BENCH_RATE, BENCH_DISPATCH_COUNT, BENCH_CACHE_SERIES,
# BENCH_CACHE_RATE, BENCH_SCRAPE_SERIES, SOAK_MINUTES, SOAK_DAEMON. Results: $(TARGET)/bench/.
BENCH_RUN = CARGO_TARGET_DIR=$(TARGET) $(CARGO) build --release -p rcollectd-bench && \
	CARGO_TARGET_DIR=$(TARGET) $(TARGET)/release/rcollectd-bench

bench: build
	$(BENCH_RUN) all

# Re-profiles the footprint set and rewrites the linker's function order.
hot-symbols:
	scripts/hot-symbols.sh

bench-footprint: build
	$(BENCH_RUN) footprint

bench-network: build
	$(BENCH_RUN) network

bench-dispatch: build
	$(BENCH_RUN) dispatch

bench-cache: build
	$(BENCH_RUN) cache

bench-reload: build
	$(BENCH_RUN) reload

bench-scrape: build
	$(BENCH_RUN) scrape

soak: build
	$(BENCH_RUN) soak
