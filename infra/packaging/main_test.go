package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const repoRoot = "../.."

// TestPackage builds the real package (cross-compiling cmd/galsync) and
// checks the zip against host.json and functions/.
func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles cmd/galsync")
	}
	zipPath, err := Build(context.Background(), Options{Root: repoRoot, Out: t.TempDir(), Compile: GoBuild})
	if err != nil {
		t.Fatal(err)
	}
	files := checkLayout(t, zipPath)

	exe := executableName(t, files["host.json"])
	bin, err := elf.NewFile(bytes.NewReader(files[exe]))
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", exe, err)
	}
	if bin.Class != elf.ELFCLASS64 || bin.Machine != elf.EM_X86_64 {
		t.Errorf("%s is %v %v, want a linux/amd64 binary", exe, bin.Class, bin.Machine)
	}
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader: built with cgo on?", exe)
		}
	}
}

// TestPackageLayout checks the layout alone with a stand-in binary: fast,
// and independent of whether cmd/galsync builds at the moment.
func TestPackageLayout(t *testing.T) {
	fake := func(_ context.Context, _, dst string) error {
		return os.WriteFile(dst, []byte("\x7fELF stand-in"), 0o600)
	}
	out := t.TempDir()
	zipPath, err := Build(context.Background(), Options{Root: repoRoot, Out: out, Compile: fake})
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, zipPath)

	// The unpacked folder beside the zip is the same app root.
	files := readZip(t, zipPath)
	for name, b := range files {
		got, err := os.ReadFile(filepath.Join(out, "app", filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("dist app/%s differs from the zip's (%v)", name, err)
		}
	}

	// Same inputs, same zip.
	again, err := Build(context.Background(), Options{Root: repoRoot, Out: t.TempDir(), Compile: fake})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(zipPath)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two builds from the same inputs gave different zips")
	}
}

func TestReadExecutableName(t *testing.T) {
	for _, bad := range []string{`{}`, `{"customHandler":{"description":{"defaultExecutablePath":"bin/galsync"}}}`, `{"customHandler":{"description":{"defaultExecutablePath":".."}}}`, `not json`} {
		if _, err := ReadExecutableName([]byte(bad)); err == nil {
			t.Errorf("ReadExecutableName(%s): want an error", bad)
		}
	}
}

// checkLayout opens the zip and checks it is exactly what the Functions
// host needs at the app root: host.json as in the repository, the binary
// named by its defaultExecutablePath and executable, and every function
// folder of functions/ with its function.json, nothing else. It returns
// the zip's files.
func checkLayout(t *testing.T, zipPath string) map[string][]byte {
	t.Helper()
	files := readZip(t, zipPath)

	hostJSON, err := os.ReadFile(filepath.Join(repoRoot, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["host.json"], hostJSON) {
		t.Error("host.json is missing from the zip root or differs from the repository's")
	}
	exe := executableName(t, hostJSON)
	want := map[string]bool{"host.json": true, exe: true}
	dirs, err := filepath.Glob(filepath.Join(repoRoot, "functions", "*", "function.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no functions/*/function.json (%v)", err)
	}
	for _, p := range dirs {
		name := filepath.Base(filepath.Dir(p)) + "/function.json"
		want[name] = true
		src, _ := os.ReadFile(p)
		if !bytes.Equal(files[name], src) {
			t.Errorf("%s is missing from the zip or differs from functions/%s", name, name)
		}
	}
	var got []string
	for name := range files {
		got = append(got, name)
		if !want[name] {
			t.Errorf("unexpected %s in the package", name)
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, "..") || strings.Contains(name, `\`) {
			t.Errorf("entry %q is not a plain relative path", name)
		}
	}
	for name := range want {
		if _, ok := files[name]; !ok {
			t.Errorf("%s is missing from the package", name)
		}
	}
	sort.Strings(got)
	t.Logf("package: %s", strings.Join(got, ", "))

	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == exe && f.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable in the zip (mode %v)", exe, f.Mode())
		}
	}
	return files
}

func executableName(t *testing.T, hostJSON []byte) string {
	t.Helper()
	exe, err := ReadExecutableName(hostJSON)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func readZip(t *testing.T, zipPath string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	return files
}
