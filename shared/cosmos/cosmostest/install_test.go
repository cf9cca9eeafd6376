package cosmostest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCI stands in for npm ci: it lays out the files of the package that
// matter here, the CLI and the handlers the patch changes (the lines it
// changes, as shipped), after a random pause so racing installs finish in
// any order.
func fakeCI(_ context.Context, dir string) error {
	lib := filepath.Join(dir, "node_modules", "@vercel", "cosmosdb-server", "lib")
	if err := os.MkdirAll(filepath.Join(lib, "handler"), 0o755); err != nil {
		return err
	}
	time.Sleep(time.Duration(rand.N(20)) * time.Millisecond)
	if err := os.WriteFile(filepath.Join(lib, "cli.js"), nil, 0o644); err != nil {
		return err
	}
	shipped := "            if (data[path] !== clientKeys[i]) {\n"
	if err := os.WriteFile(filepath.Join(lib, "handler", "read-document.js"), []byte(shipped), 0o644); err != nil {
		return err
	}
	var ops strings.Builder
	for _, op := range []string{"createOperation", "replaceOperation", "upsertOperation"} {
		fmt.Fprintf(&ops, "function %s(collection, input) {\n}\n", op)
	}
	return os.WriteFile(filepath.Join(lib, "handler", "_document-operations.js"), []byte(ops.String()), 0o644)
}

// testFolder copies the install inputs of the real testserver folder into
// a temporary one.
func testFolder(t *testing.T) (dir, digest string) {
	src, err := serverDir()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for _, name := range installInputs {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	digest, err = inputDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, digest
}

// TestInstallRace runs installs of one folder at once, as test processes
// starting together do (the in-process mutex is bypassed), over nothing
// and over a stale install: every one succeeds, and the folder ends with
// one complete, patched install and no leftovers.
func TestInstallRace(t *testing.T) {
	for round := range 10 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			dir, digest := testFolder(t)
			if round%2 == 1 { // an install made from other inputs
				if err := os.MkdirAll(filepath.Join(dir, "node_modules", "old"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "node_modules", stampFile), []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
				if stampMatches(dir, digest) {
					t.Fatal("a stale stamp matches")
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs {
				wg.Go(func() { errs[i] = install(t.Context(), dir, digest, fakeCI) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("install %d: %v", i, err)
				}
			}
			checkInstall(t, dir, digest)
		})
	}
}

func checkInstall(t *testing.T, dir, digest string) {
	t.Helper()
	if !stampMatches(dir, digest) {
		t.Fatal("install left no matching stamp")
	}
	handler := filepath.Join(dir, "node_modules", "@vercel", "cosmosdb-server", "lib", "handler", "read-document.js")
	src, err := os.ReadFile(handler)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "if (!data || data[path] !== clientKeys[i]) {") {
		t.Errorf("read-document.js is not patched:\n%s", src)
	}
	lib := filepath.Join(dir, "node_modules", "@vercel", "cosmosdb-server", "lib")
	ops, err := os.ReadFile(filepath.Join(lib, "handler", "_document-operations.js"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(ops), `require("../galsync-limits")`); n != 3 {
		t.Errorf("_document-operations.js calls the limits %d times, want 3 (create, replace, upsert):\n%s", n, ops)
	}
	if _, err := os.Stat(filepath.Join(lib, "galsync-limits.js")); err != nil {
		t.Errorf("limits.js is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "old")); err == nil {
		t.Error("the stale install is still in place")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".install-") {
			t.Errorf("leftover %s", e.Name())
		}
	}
}

// TestPatchRefusesUnknownFile: the patch fails loudly on a handler it does
// not know (an upgraded package) instead of leaving the 500 in place.
func TestPatchRefusesUnknownFile(t *testing.T) {
	dir, _ := testFolder(t)
	handler := filepath.Join(dir, "node_modules", "@vercel", "cosmosdb-server", "lib", "handler")
	if err := os.MkdirAll(handler, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(handler, "read-document.js"), []byte("something else\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(t.Context(), dir, "node", "patch-server.js")
	if err == nil || !strings.Contains(err.Error(), "upgraded") {
		t.Fatalf("patch of an unknown file: %v; want a failure", err)
	}
}
