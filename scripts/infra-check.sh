#!/usr/bin/env bash
# make infra-check: `terraform fmt -check`, `terraform validate` and
# `terraform test` (mock providers) on infra/, offline, then proof that
# validate catches a schema error.
#
# No provider registry is reachable from these machines, so the providers are
# built from the Go module proxy (pinned below), cached outside the repository
# and handed to Terraform through a CLI config with dev_overrides:
#   - azurerm: the real provider, built from source (~10 min cold, ~330 MB).
#   - azapi: the real provider, v1.15.0 (the newest the proxy serves), built
#     inside its downloaded module with its vendored dependencies (~3 min cold).
#   - azuread: the module proxy refuses terraform-provider-azuread past v1.6.0,
#     so a schema-only stand-in (infra/check/schemastub) serves azuread 3.7.0's
#     schemas for the resources infra/ uses; see its main.go.
# Without a terraform binary, OpenTofu is built from the module proxy the same
# way (GALSYNC_TF_BIN=opentofu forces that path).
#
# Environment: GALSYNC_TF_CACHE (cache dir), GALSYNC_TF_BIN (terraform binary,
# or "opentofu").
set -euo pipefail

# Pins. azurerm has no Go-module-compatible v5 tags, so the proxy serves it by
# commit: fae580791926 (2026-08-24) is the main branch four days after the
# 5.2.0 release that versions.tf pins.
AZURERM_MODULE=github.com/hashicorp/terraform-provider-azurerm
AZURERM_VERSION=v1.44.1-0.20260824201233-fae580791926
AZAPI_MODULE=github.com/Azure/terraform-provider-azapi
AZAPI_VERSION=v1.15.0
OPENTOFU_MODULE=github.com/opentofu/opentofu
OPENTOFU_VERSION=v1.12.6

ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFRA=$ROOT/infra
CACHE=${GALSYNC_TF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/galsync/tf-providers}
start=$(date +%s)
say() { printf 'infra-check: %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one build at a time when two checks start together

# go_install DIR PKG@VERSION [workdir]: builds into DIR unless it is there.
# Builds into a temporary directory first, so an interrupted build leaves
# nothing that looks finished.
go_install() {
	local dir=$1 pkg=$2 workdir=${3:-$CACHE}
	[ -n "$(ls -A "$dir" 2>/dev/null)" ] && return 0
	say "building $pkg into $dir (slow the first time)"
	local tmp
	tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
	(cd "$workdir" && GOFLAGS= GOBIN="$tmp" go install -trimpath "$pkg")
	mkdir -p "$(dirname "$dir")"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

# --- terraform or OpenTofu ---
TF=${GALSYNC_TF_BIN:-}
if [ -z "$TF" ]; then
	TF=$(command -v terraform || command -v tofu || echo opentofu)
fi
# go_build_in_module DIR MODULE VERSION PKG OUT [GOFLAGS]: builds PKG inside
# the downloaded module (so its replace directives and vendor directory
# apply, which `go install pkg@version` ignores) into DIR/OUT, unless DIR
# holds it already.
go_build_in_module() {
	local dir=$1 module=$2 version=$3 pkg=$4 out=$5 flags=${6:-}
	[ -n "$(ls -A "$dir" 2>/dev/null)" ] && return 0
	say "building $module@$version into $dir (slow the first time)"
	local src tmp
	src=$(GOFLAGS= go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "infra-check: FAIL: could not download $module@$version" >&2; exit 1; }
	tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
	(cd "$src" && GOFLAGS=$flags go build -trimpath -o "$tmp/$out" "$pkg")
	mkdir -p "$(dirname "$dir")" && rm -rf "$dir" && mv "$tmp" "$dir"
}

if [ "$TF" = opentofu ]; then
	tofu_dir=$CACHE/opentofu/$OPENTOFU_VERSION
	go_build_in_module "$tofu_dir" "$OPENTOFU_MODULE" "$OPENTOFU_VERSION" ./cmd/tofu tofu
	TF=$tofu_dir/tofu
fi

# --- providers ---
AZURERM_DIR=$CACHE/azurerm/$AZURERM_VERSION
go_install "$AZURERM_DIR" "$AZURERM_MODULE@$AZURERM_VERSION"

AZAPI_DIR=$CACHE/azapi/$AZAPI_VERSION
go_build_in_module "$AZAPI_DIR" "$AZAPI_MODULE" "$AZAPI_VERSION" . terraform-provider-azapi -mod=mod

STUB_SRC=$INFRA/check/schemastub
stub_hash=$(cat "$STUB_SRC"/go.mod "$STUB_SRC"/go.sum "$STUB_SRC"/*.go "$STUB_SRC"/*.json | sha256sum | cut -c1-16)
AZUREAD_DIR=$CACHE/azuread-schemastub/$stub_hash
go_install "$AZUREAD_DIR" . "$STUB_SRC"
[ -x "$AZUREAD_DIR/terraform-provider-azuread" ] || mv "$AZUREAD_DIR/schemastub" "$AZUREAD_DIR/terraform-provider-azuread"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "hashicorp/azurerm" = "$AZURERM_DIR"
    "hashicorp/azuread" = "$AZUREAD_DIR"
    "azure/azapi"       = "$AZAPI_DIR"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE=$WORK/cli.tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

# validate DIR: runs validate with a throw-away data dir; prints its output
# on failure. No `init`: with every provider overridden, none is needed.
validate() {
	TF_DATA_DIR="$WORK/data-$RANDOM" "$TF" -chdir="$1" validate -no-color >"$WORK/out" 2>&1
}

# --- 1. formatting ---
say "$("$TF" version | head -1): fmt -check"
if ! "$TF" fmt -check -recursive -diff "$INFRA"; then
	echo "infra-check: FAIL: run '$TF fmt -recursive infra'" >&2
	exit 1
fi

# --- 2. validate ---
say "validate infra/"
if ! validate "$INFRA"; then
	cat "$WORK/out" >&2
	echo "infra-check: FAIL: terraform validate" >&2
	exit 1
fi
# Show any warning but the expected one about the development overrides.
awk '/Warning: Provider development overrides are in effect/ {skip=1} skip && /^releases\.$/ {skip=0; next}
     !skip && !/^Success!|^as shown above\.$|^$/' "$WORK/out"

# --- 3. terraform test: the plan itself, against mock providers ---
# infra/tests/*.tftest.hcl apply the configuration to mock providers (no
# Azure, no tenant) and assert what would be deployed: app settings against
# the settings the code reads (infra/tests/testdata/code.json, kept current
# by infra/settings_test.go), roles, queues, containers, the refusals.
say "test infra/ (mock providers)"
if ! TF_DATA_DIR="$WORK/data-test" "$TF" -chdir="$INFRA" test -no-color >"$WORK/out" 2>&1; then
	cat "$WORK/out" >&2
	echo "infra-check: FAIL: terraform test" >&2
	exit 1
fi
grep -E '^(tests/|  run |Success!|Failure!)' "$WORK/out" | sed 's/^/  /'

# --- 4. validate must catch a schema error ---
# An unknown argument in an azurerm and an azapi resource (checked against
# the real providers) and in an azuread resource (checked against the
# stand-in).
# The copy keeps infra/'s place beside host.json and functions/.
inject() { # inject FILE RESOURCE-HEADER
	local copy=$WORK/broken
	rm -rf "$copy" && mkdir -p "$copy"
	cp -r "$INFRA" "$copy/infra"
	ln -s "$ROOT/host.json" "$copy/host.json"
	ln -s "$ROOT/functions" "$copy/functions"
	python3 - "$copy/infra/$1" "$2" <<'PY'
import sys
path, header = sys.argv[1], sys.argv[2]
src = open(path).read()
if header not in src:
    sys.exit(f"infra-check: {header!r} not found in {path}")
open(path, "w").write(src.replace(header, header + "\n  galsync_no_such_argument = true\n", 1))
PY
	if validate "$copy/infra"; then
		echo "infra-check: FAIL: validate accepted an unknown argument in $2 ($1)" >&2
		exit 1
	fi
	if ! grep -q 'galsync_no_such_argument' "$WORK/out" || ! grep -qi 'unsupported argument' "$WORK/out"; then
		cat "$WORK/out" >&2
		echo "infra-check: FAIL: validate failed, but not on the injected argument" >&2
		exit 1
	fi
	say "rejected an injected unknown argument in $2 as it should"
}
inject servicebus.tf 'resource "azurerm_servicebus_queue" "main" {'
inject graph.tf 'resource "azuread_application_federated_identity_credential" "partner" {'
inject functions.tf 'resource "azapi_resource" "flex" {'

say "ok"
