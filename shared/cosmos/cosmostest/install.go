package cosmostest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/galsync/galsync/shared/npminstall"
)

// DirEnv overrides where the testserver folder (package.json,
// package-lock.json, patch-server.js) is; by default it is found beside
// this package's source.
const DirEnv = "GALSYNC_COSMOS_TESTSERVER"

// stampFile, inside node_modules, holds the digest of the files the
// install was made from; a different digest means the install is stale.
const stampFile = npminstall.StampFile

// installInputs are the files an install is made from.
var installInputs = []string{"package.json", "package-lock.json", "patch-server.js", "limits.js"}

func serverDir() (string, error) {
	dir := os.Getenv(DirEnv)
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok || !filepath.IsAbs(file) {
			return "", fmt.Errorf("cannot locate shared/cosmos/testserver from this binary (built with -trimpath?); set %s", DirEnv)
		}
		dir = filepath.Join(filepath.Dir(file), "..", "testserver")
	}
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err != nil {
		return "", fmt.Errorf("testserver folder %s has no package-lock.json (set %s to shared/cosmos/testserver): %w", dir, DirEnv, err)
	}
	return filepath.Clean(dir), nil
}

// cliRel is the server's entry point, relative to the testserver folder.
var cliRel = filepath.Join("node_modules", "@vercel", "cosmosdb-server", "lib", "cli.js")

func cliPath(dir string) string { return filepath.Join(dir, cliRel) }

// spec is the testserver folder's install: npm ci (or ci), then the patch
// that makes a missing item answer 404. npm ci runs the postinstall patch;
// it runs again in case scripts are disabled in the user's npm
// configuration (it is idempotent).
func spec(dir string, ci func(ctx context.Context, dir string) error) npminstall.Spec {
	return npminstall.Spec{Dir: dir, Inputs: installInputs, Probe: cliRel, CI: ci, What: "the Cosmos DB stand-in",
		After: func(ctx context.Context, tmp string) error { return run(ctx, tmp, "node", "patch-server.js") }}
}

// ensureInstalled makes sure dir/node_modules is an install of the current
// package-lock.json with the patch applied (see npminstall).
func ensureInstalled(ctx context.Context, dir string) error {
	return npminstall.Ensure(ctx, spec(dir, nil))
}

// install makes a fresh install with ci (npm ci when nil) and renames it
// into dir.
func install(ctx context.Context, dir, digest string, ci func(ctx context.Context, dir string) error) error {
	return npminstall.Install(ctx, spec(dir, ci), digest)
}

func run(ctx context.Context, dir, name string, args ...string) error {
	return npminstall.Run(ctx, dir, name, args...)
}

func inputDigest(dir string) (string, error) { return npminstall.Digest(dir, installInputs) }

func stampMatches(dir, digest string) bool { return npminstall.StampMatches(spec(dir, nil), digest) }
