#!/usr/bin/env bash
# make infra-check: `terraform fmt -check` and `terraform validate` on infra/,
# offline, then proof that validate catches a schema error.
#
# No provider registry is reachable from these machines, so the providers are
# built from the Go module proxy (pinned below), cached outside the repository
# and handed to Terraform through a CLI config with dev_overrides:
#   - azurerm: the real provider, built from source (~10 min cold, ~330 MB).
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
if [ "$TF" = opentofu ]; then
	# OpenTofu's go.mod has a replace directive, which `go install pkg@version`
	# refuses: build inside the downloaded module instead, so it applies.
	tofu_dir=$CACHE/opentofu/$OPENTOFU_VERSION
	if [ -z "$(ls -A "$tofu_dir" 2>/dev/null)" ]; then
		say "building OpenTofu $OPENTOFU_VERSION into $tofu_dir (slow the first time)"
		src=$(GOFLAGS= go mod download -json "$OPENTOFU_MODULE@$OPENTOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -d "$src" ] || { echo "infra-check: FAIL: could not download $OPENTOFU_MODULE@$OPENTOFU_VERSION" >&2; exit 1; }
		tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
		(cd "$src" && GOFLAGS= go build -trimpath -o "$tmp/tofu" ./cmd/tofu)
		mkdir -p "$(dirname "$tofu_dir")" && rm -rf "$tofu_dir" && mv "$tmp" "$tofu_dir"
	fi
	TF=$tofu_dir/tofu
fi

# --- providers ---
AZURERM_DIR=$CACHE/azurerm/$AZURERM_VERSION
go_install "$AZURERM_DIR" "$AZURERM_MODULE@$AZURERM_VERSION"

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

# --- 3. validate must catch a schema error ---
# An unknown argument in an azurerm resource (checked against the real
# provider) and in an azuread resource (checked against the stand-in).
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

say "ok"
