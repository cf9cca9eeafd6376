# galsync — see README.md. Every target works on a fresh machine with Go,
# gcc and node/npm: tools are installed from the module proxy, pinned.

GO          ?= go
BIN         := bin/galsync
TOOLS       := $(CURDIR)/.tools
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.7.0
RUN_DIR     := .run
SIM_LISTEN  ?= 127.0.0.1:8443
SOURCE_USERS ?= 300
# make run syncs, stays live (change notifications) for RUN_STAY, then
# prints the summary and exits; make run RUN_FLAGS= keeps it running.
RUN_STAY    ?= 60s
RUN_FLAGS   ?= --once --stay $(RUN_STAY) --progress 2s

.PHONY: all build run test test-azure lint fmt-check vet staticcheck bench fuzz clean chromium

all: build

build:
	$(GO) build -o $(BIN) ./cmd/galsync

# make run: the simulator with a seeded source tenant and an empty target,
# and galsync local syncing them; Ctrl-C stops both. The simulator behaves
# as Graph does: a new guest is invisible for SIM_REPLICATION_DELAY, and
# showInAddressList is refused on mail-enabled guests.
SIM_REPLICATION_DELAY ?= 2s
run: build
	@rm -rf $(RUN_DIR) && mkdir -p $(RUN_DIR)
	@./$(BIN) sim --listen $(SIM_LISTEN) --state-dir $(RUN_DIR) --source-users $(SOURCE_USERS) \
	   --replication-delay $(SIM_REPLICATION_DELAY) --mail-user-address-list-read-only > $(RUN_DIR)/sim.log 2>&1 & echo $$! > $(RUN_DIR)/sim.pid
	@for i in $$(seq 1 100); do [ -s $(RUN_DIR)/topology.json ] && break; sleep 0.1; done; \
	 [ -s $(RUN_DIR)/topology.json ] || { cat $(RUN_DIR)/sim.log; kill $$(cat $(RUN_DIR)/sim.pid); exit 1; }
	@cat $(RUN_DIR)/sim.log
	@trap 'kill $$(cat $(RUN_DIR)/sim.pid) 2>/dev/null' EXIT INT TERM; \
	 set -a; . $(RUN_DIR)/secrets.env; set +a; \
	 GALSYNC_TOPOLOGY_FILE=$(RUN_DIR)/topology.json GALSYNC_CA_FILE=$(RUN_DIR)/cert.pem \
	 GALSYNC_DATA_DIR=$(RUN_DIR)/data GALSYNC_DELTA_SCHEDULE="*/15 * * * * *" GALSYNC_LOG_LEVEL=warn \
	 ./$(BIN) local $(RUN_FLAGS)

# go test ./..., with cmd/galsync's end-to-end tests in TEST_SHARDS
# processes side by side (scripts/test.sh says why).
TEST_SHARDS ?= 3
test: lint chromium
	GO=$(GO) TEST_SHARDS=$(TEST_SHARDS) scripts/test.sh

# Every core end-to-end scenario on the Azure backends too (Service Bus and
# Cosmos DB test servers); make test runs them on the embedded backends and
# runs one Azure smoke scenario plus the backends' conformance suites.
test-azure:
	GALSYNC_E2E_BACKENDS=embedded,azure $(GO) test -count=1 -timeout 60m ./cmd/galsync/

lint: fmt-check vet staticcheck

# The status page's browser test drives Debian's chromium (installed once).
chromium:
	@scripts/install-chromium.sh

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.*/*')); \
	 if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

# Benchmarks print their own figures (users/s, writes per user, peak RSS,
# data file size...); the initial sync runs 10,000 and 100,000 users.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./cmd/galsync/ ./handlers/
	$(GO) test -run '^$$' -bench . -timeout 10m ./shared/embedded/
	$(GO) test -run '^$$' -bench PacedWrites -benchtime 1x -timeout 10m ./shared/graph/

# Longer fuzzing on demand: make fuzz FUZZTIME=5m
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzServiceBusBody -fuzztime $(FUZZTIME) ./shared/funcproto/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./shared/notify/

clean:
	rm -rf bin $(RUN_DIR) .galsync dist

# Deployment (docs/deploy.md). package: dist/app (host.json, the linux/amd64
# handler binary and every function folder) and dist/galsync.zip.
# infra-check: terraform fmt -check, validate and test (mock providers) on
# infra/, offline, with providers built from the module proxy and cached in
# $XDG_CACHE_HOME (or ~/.cache)/galsync/tf-providers (first run ~16 min).
.PHONY: package infra-check
package:
	$(GO) run ./infra/packaging -out dist

infra-check:
	scripts/infra-check.sh
