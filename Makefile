# SMSTorrent — build, test, demo, benchmarks.
#   make demo   a local swarm distributes a package end to end (tracker, origin, two branches, wrapper)
#   make test   installs what it needs (Debian packages, linters), then runs every check and test
#   make bench  the network lab benchmark (root): writes lab/results/latest.json and docs/BENCHMARKS.md

GO      ?= go
BIN     := bin
export CGO_ENABLED := 1

CMDS := \
	$(BIN)/smstorrent-service:./service/cmd/smstorrent-service \
	$(BIN)/smstorrent-tracker:./tracker/cmd/smstorrent-tracker \
	$(BIN)/P2PWrapper:./wrapper/cmd/P2PWrapper \
	$(BIN)/smstorrent-tray:./app/cmd/smstorrent-tray \
	$(BIN)/smstorrent-window:./app/cmd/smstorrent-window

.PHONY: all build deps lint test test-go demo bench clean

all: build

deps:
	@./.ci/install-deps

build:
	@mkdir -p $(BIN)
	@for c in $(CMDS); do out=$${c%%:*}; pkg=$${c#*:}; \
		if [ -d "$$pkg" ]; then echo "go build $$pkg"; $(GO) build -o $$out $$pkg || exit 1; fi; done

lint:
	@echo "== gofmt"; out=$$(gofmt -l $$(git ls-files '*.go' ; git ls-files --others --exclude-standard '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== staticcheck"; $(GO) tool staticcheck ./...

test-go:
	@echo "== go test"; $(GO) test -count=1 -timeout 20m ./...

test: deps build lint test-go

demo: deps build
	@$(GO) run ./lab/cmd/demo

bench: deps build
	@$(GO) run ./lab/cmd/bench

clean:
	rm -rf $(BIN)
