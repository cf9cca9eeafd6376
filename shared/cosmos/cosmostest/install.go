package cosmostest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// DirEnv overrides where the testserver folder (package.json,
// package-lock.json, patch-server.js) is; by default it is found beside
// this package's source.
const DirEnv = "GALSYNC_COSMOS_TESTSERVER"

// stampFile, inside node_modules, holds the digest of the files the
// install was made from; a different digest means the install is stale.
const stampFile = ".galsync-install"

// installInputs are the files an install is made from.
var installInputs = []string{"package.json", "package-lock.json", "patch-server.js"}

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

func cliPath(dir string) string {
	return filepath.Join(dir, "node_modules", "@vercel", "cosmosdb-server", "lib", "cli.js")
}

// installMu serialises installs within this process; installed remembers
// a folder already checked.
var (
	installMu sync.Mutex
	installed = map[string]bool{}
)

// ensureInstalled makes sure dir/node_modules is an install of the current
// package-lock.json with the patch applied. Test processes may race here
// (go test runs packages in parallel): each installs into a temporary
// folder of its own and renames it into place, which is atomic; a loser
// finds the winner's install and keeps it.
func ensureInstalled(ctx context.Context, dir string) error {
	installMu.Lock()
	defer installMu.Unlock()
	if installed[dir] {
		return nil
	}
	want, err := inputDigest(dir)
	if err != nil {
		return err
	}
	if stampMatches(dir, want) {
		installed[dir] = true
		return nil
	}
	if err := install(ctx, dir, want, npmCI); err != nil {
		return err
	}
	installed[dir] = true
	return nil
}

// npmCI installs the packages of package-lock.json into dir/node_modules.
func npmCI(ctx context.Context, dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not on PATH: the Cosmos DB stand-in is installed with npm (Debian: apt-get install nodejs npm)")
	}
	return run(ctx, dir, npm, "ci", "--no-audit", "--no-fund")
}

// install makes a fresh install (ci puts the packages in place) in a
// temporary folder and renames it into dir.
func install(ctx context.Context, dir, digest string, ci func(ctx context.Context, dir string) error) error {
	tmp, err := os.MkdirTemp(dir, ".install-")
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range installInputs {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return fmt.Errorf("install: %w", err)
		}
	}
	if err := ci(ctx, tmp); err != nil {
		return err
	}
	// npm ci runs the postinstall patch; run it again in case scripts are
	// disabled in the user's npm configuration (it is idempotent).
	if err := run(ctx, tmp, "node", "patch-server.js"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "node_modules", stampFile), []byte(digest), 0o644); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	target := filepath.Join(dir, "node_modules")
	if stampMatches(dir, digest) {
		return nil // another process finished first
	}
	// A stale or hand-made install is moved aside first: rename will not
	// replace a folder that has files in it.
	if err := os.Rename(target, filepath.Join(tmp, "stale")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("install: move the old node_modules aside: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "node_modules"), target); err != nil {
		if stampMatches(dir, digest) {
			return nil
		}
		return fmt.Errorf("install: %w", err)
	}
	return nil
}

func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s (in %s): %w\n%s", cmd, dir, err, out.String())
	}
	return nil
}

func inputDigest(dir string) (string, error) {
	h := sha256.New()
	for _, name := range installInputs {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("install: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func stampMatches(dir, digest string) bool {
	got, err := os.ReadFile(filepath.Join(dir, "node_modules", stampFile))
	if err != nil || string(got) != digest {
		return false
	}
	_, err = os.Stat(cliPath(dir))
	return err == nil
}
