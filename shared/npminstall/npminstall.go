// Package npminstall installs the npm packages of a test server's folder
// (package.json and package-lock.json, and any other files the install is
// made from) into its node_modules, safely when several test processes do
// it at once: each installs into a temporary folder of its own and renames
// it into place, which is atomic; a loser finds the winner's install and
// keeps it. An install records a digest of its inputs, so a changed lock
// file (an upgrade) is installed afresh. The Service Bus test broker and
// the Cosmos DB test server use it.
package npminstall

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
	"sync"
)

// StampFile, inside node_modules, holds the digest of the files the
// install was made from; a different digest means the install is stale.
const StampFile = ".galsync-install"

// Spec describes a folder's install.
type Spec struct {
	// Dir holds the inputs; node_modules is made there.
	Dir string
	// Inputs are the files the install is made from (copied into the
	// temporary folder, and digested).
	Inputs []string
	// Probe is a file under Dir that a complete install has.
	Probe string
	// CI puts the packages in place in a folder holding the inputs (npm ci
	// when nil).
	CI func(ctx context.Context, dir string) error
	// After runs in the temporary folder once CI is done (a patch), if set.
	After func(ctx context.Context, dir string) error
	// What names the packages in errors ("the Service Bus test broker").
	What string
}

// installMu serialises installs within this process; done remembers a
// folder already checked.
var (
	installMu sync.Mutex
	done      = map[string]bool{}
)

// Ensure makes sure s.Dir/node_modules is an install of the current
// inputs, installing once per process and folder.
func Ensure(ctx context.Context, s Spec) error {
	installMu.Lock()
	defer installMu.Unlock()
	if done[s.Dir] {
		return nil
	}
	want, err := Digest(s.Dir, s.Inputs)
	if err != nil {
		return err
	}
	if !StampMatches(s, want) {
		if err := Install(ctx, s, want); err != nil {
			return err
		}
	}
	done[s.Dir] = true
	return nil
}

// Install makes a fresh install in a temporary folder and renames it into
// s.Dir, whatever is there; digest is what the stamp records.
func Install(ctx context.Context, s Spec, digest string) error {
	tmp, err := os.MkdirTemp(s.Dir, ".install-")
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range s.Inputs {
		data, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return fmt.Errorf("install: %w", err)
		}
	}
	ci := s.CI
	if ci == nil {
		ci = func(ctx context.Context, dir string) error { return npmCI(ctx, dir, s.What) }
	}
	if err := ci(ctx, tmp); err != nil {
		return err
	}
	if s.After != nil {
		if err := s.After(ctx, tmp); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "node_modules", StampFile), []byte(digest), 0o644); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	target := filepath.Join(s.Dir, "node_modules")
	if StampMatches(s, digest) {
		return nil // another process finished first
	}
	// A stale or hand-made install is moved aside first: rename will not
	// replace a folder that has files in it.
	if err := os.Rename(target, filepath.Join(tmp, "stale")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("install: move the old node_modules aside: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "node_modules"), target); err != nil {
		if StampMatches(s, digest) {
			return nil
		}
		return fmt.Errorf("install: %w", err)
	}
	return nil
}

// npmCI installs the packages of package-lock.json into dir/node_modules.
func npmCI(ctx context.Context, dir, what string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm is not on PATH: %s is installed with npm (Debian: apt-get install nodejs npm)", what)
	}
	return Run(ctx, dir, npm, "ci", "--no-audit", "--no-fund")
}

// Run runs a command in dir, its output in the error if it fails.
func Run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s (in %s): %w\n%s", cmd, dir, err, out.String())
	}
	return nil
}

// Digest is the digest of a folder's install inputs.
func Digest(dir string, inputs []string) (string, error) {
	h := sha256.New()
	for _, name := range inputs {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("install: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// StampMatches reports a complete install made from inputs with digest.
func StampMatches(s Spec, digest string) bool {
	got, err := os.ReadFile(filepath.Join(s.Dir, "node_modules", StampFile))
	if err != nil || string(got) != digest {
		return false
	}
	_, err = os.Stat(filepath.Join(s.Dir, s.Probe))
	return err == nil
}
