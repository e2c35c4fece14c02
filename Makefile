# SMSTorrent — build, test, demo, benchmarks.
#   make demo   a local swarm distributes a package end to end (tracker, origin, two branches, wrapper)
#   make test   installs what it needs (Debian packages, linters), then runs every check and test
#   make bench  the network lab benchmark (root): writes lab/results/latest.json and docs/BENCHMARKS.md
#   make bench-suite  the lab's shapes (2x12, 5x4, 10x2, 50 and 100 Mbit/s, 5/20/50 Mbit/s) with
#               SMSTorrent and Transmission, ~20 min (root; bench -suite): lab/results/suite.json,
#               the suite's and the fleet's sections of docs/BENCHMARKS.md
#   make interop  the full interop matrix (Transmission, qBittorrent, opentracker; 256 MiB): docs/BENCHMARKS.md
#   make screenshots  the window and tray pictures in docs/screenshots, under Xvfb (docs/DESKTOP.md)

GO      ?= go
BIN     := bin
export CGO_ENABLED := 1
# The build version (internal/version) from git describe; see packaging/version.sh.
VERSION := $(shell ./packaging/version.sh)
LDFLAGS := -X github.com/smstorrent/smstorrent/internal/version.Version=$(VERSION)

CMDS := \
	$(BIN)/smstorrent-service:./service/cmd/smstorrent-service \
	$(BIN)/smstorrent-tracker:./tracker/cmd/smstorrent-tracker \
	$(BIN)/P2PWrapper:./wrapper/cmd/P2PWrapper \
	$(BIN)/smstorrent-tray:./app/cmd/smstorrent-tray \
	$(BIN)/smstorrent-window:./app/cmd/smstorrent-window

.PHONY: all build deps lint windows-check windows dist dist-check deb deb-check test test-go fuzz demo bench bench-suite interop screenshots clean

all: build

deps:
	@./.ci/install-deps

build:
	@mkdir -p $(BIN)
	@for c in $(CMDS); do out=$${c%%:*}; pkg=$${c#*:}; \
		if [ -d "$$pkg" ]; then echo "go build $$pkg"; $(GO) build -ldflags "$(LDFLAGS)" -o $$out $$pkg || exit 1; fi; done

lint:
	@echo "== gofmt"; out=$$(gofmt -l $$(git ls-files '*.go' ; git ls-files --others --exclude-standard '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== staticcheck"; $(GO) tool staticcheck ./...

# Windows is the main target: the pure-Go executables must cross-build and
# vet cleanly for it in every test run (the cgo ones are built by "make windows").
WIN_PURE := ./wrapper/cmd/P2PWrapper ./tracker/cmd/smstorrent-tracker ./app/cmd/smstorrent-tray
windows-check:
	@echo "== windows build (pure Go)"; GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o /dev/null $(WIN_PURE) && \
		GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./wrapper/... ./service/api/... ./service/config/... ./service/localapi/... ./app/tray/... ./app/instance/... ./internal/pkgid/...

# make dist: the Windows amd64 executables (self-contained, icon, VERSIONINFO,
# manifest, signed) and the MSI, in dist/ (packaging/windows/dist.sh; signing
# certificate from SMSTORRENT_SIGN_* or a throwaway one). "make windows" is
# the same.
dist windows:
	@./packaging/windows/dist.sh

# make dist-check: the proofs on dist/ - PE headers, imports, resources,
# signatures, MSI tables, and wine: msiexec install/uninstall, versions, the
# service's API with ctl, the wrapper's SCCM flow, the Windows test binaries
# of the pure-Go packages (packaging/windows/check.sh).
dist-check: dist
	@./packaging/windows/check.sh

# make deb: the Linux package (nfpm) in dist/; deb-check inspects it and
# installs it into a throwaway root.
deb:
	@./packaging/linux/deb.sh
deb-check: deb
	@./packaging/linux/check.sh

test-go:
	@echo "== go test"; $(GO) test -count=1 -timeout 20m ./...

# A short run of each fuzz target (their seed corpora also run in go test).
# A count, not a duration: Go 1.26's fuzzing coordinator can fail a target
# with "context deadline exceeded" when a duration ends under CPU load (a
# race in the coordinator, go.dev/issue/75804, fixed in Go 1.27), which a
# count has no deadline for. Longer: make fuzz FUZZTIME=10m or =1000000x.
FUZZTIME ?= 20000x
FUZZ := \
	./service/localapi:FuzzRequest \
	./service/api:FuzzAddressFile \
	./service/config:FuzzConfig \
	./wrapper:FuzzCommandLine \
	./wrapper:FuzzArgs
fuzz:
	@for f in $(FUZZ); do pkg=$${f%%:*}; name=$${f#*:}; echo "== fuzz $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -parallel 1 $$pkg || exit 1; done

test: deps build lint windows-check test-go fuzz dist-check deb-check

demo: deps build
	@$(GO) run ./lab/cmd/demo

# A real service for the four tabs and the tray; the demo service for the
# read-only, dark and service-not-running pictures and the read-only menu.
screenshots: deps build
	@command -v trayer >/dev/null || apt-get install -y trayer xvfb xdotool imagemagick dbus-x11
	@./app/scripts/real-service-screenshots.sh
	@./app/scripts/screenshots.sh
	@./app/scripts/tray-session.sh :58 read
	@rm -f docs/screenshots/tray-window-read.png

bench: deps build
	@$(GO) run ./lab/cmd/bench
	@$(GO) run ./lab/cmd/bench -delta
	@$(GO) run ./lab/cmd/yield

# Not part of bench or test: about 20 minutes. The fleet projection (no root)
# is calibrated from lab/results/latest.json and checked against the suite.
bench-suite: deps build
	@$(GO) run ./lab/cmd/bench -suite
	@$(GO) run ./lab/cmd/fleet

# The short matrix (4 MiB) runs in make test; this is the full one, unlimited
# and with a 20 Mbit/s branch link on our leeching service.
interop: deps
	$(GO) test -count=1 -timeout 50m -run 'TestInteropMatrix' -v ./lab/interop/ -args -interop.mib=256 -interop.doc=$(CURDIR)/docs/BENCHMARKS.md
	$(GO) test -count=1 -timeout 30m -run 'TestInteropMatrix/(origin-to-service|transmission-to-service)$$' -v ./lab/interop/ \
		-args -interop.mib=256 -interop.link=20Mbit -interop.doc=$(CURDIR)/docs/BENCHMARKS.md

clean:
	rm -rf $(BIN) dist build
