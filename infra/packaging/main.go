// Command packaging builds galsync's deployable Functions package:
//
//	go run ./infra/packaging [-out dist]
//
// It cross-compiles cmd/galsync for linux/amd64 with cgo off, and lays out
// the app root the Functions host expects: host.json, the binary named by
// host.json's customHandler.description.defaultExecutablePath, and every
// function folder (functions/<name>/function.json in this repository)
// beside them. It writes that folder to <out>/app and zips it to
// <out>/galsync.zip, the file `az functionapp deployment source config-zip`
// (Flex Consumption one-deploy) takes. `make package` runs it.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("packaging", flag.ContinueOnError)
	out := flags.String("out", "dist", "output directory (app/ and galsync.zip are written inside)")
	root := flags.String("root", ".", "repository root")
	if err := flags.Parse(args); err != nil {
		return err
	}
	zipPath, err := Build(ctx, Options{Root: *root, Out: *out, Compile: GoBuild})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, zipPath)
	return nil
}

// Options say what to package and where.
type Options struct {
	// Root is the repository root: host.json, functions/ and cmd/galsync.
	Root string
	// Out receives app/ (the app root) and galsync.zip.
	Out string
	// Compile writes the handler binary to dst.
	Compile func(ctx context.Context, root, dst string) error
}

// ZipName is the package's file name inside Options.Out.
const ZipName = "galsync.zip"

// GoBuild cross-compiles cmd/galsync for the Functions host: linux/amd64,
// cgo off (the host image promises no C libraries), symbols stripped and
// paths trimmed so the build is reproducible.
func GoBuild(ctx context.Context, root, dst string) error {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", abs, "./cmd/galsync")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/galsync: %w", err)
	}
	return nil
}

// HostConfig is the part of host.json packaging depends on.
type HostConfig struct {
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string `json:"defaultExecutablePath"`
		} `json:"description"`
	} `json:"customHandler"`
}

// ReadExecutableName returns host.json's defaultExecutablePath: the name the
// binary must have at the app root.
func ReadExecutableName(hostJSON []byte) (string, error) {
	var h HostConfig
	if err := json.Unmarshal(hostJSON, &h); err != nil {
		return "", fmt.Errorf("host.json: %w", err)
	}
	name := h.CustomHandler.Description.DefaultExecutablePath
	if name == "" {
		return "", errors.New("host.json: customHandler.description.defaultExecutablePath is not set")
	}
	if name != path.Base(name) || strings.ContainsAny(name, `\`) || name == "." || name == ".." {
		return "", fmt.Errorf("host.json: defaultExecutablePath %q must be a file name at the app root", name)
	}
	return name, nil
}

// FunctionFolders returns the names of the function folders under
// root/functions: every folder holding a function.json.
func FunctionFolders(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil {
		return nil, err
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("no functions/*/function.json under %s", root)
	}
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	return names, nil
}

// Build assembles Out/app and writes Out/galsync.zip, returning its path.
func Build(ctx context.Context, o Options) (string, error) {
	hostJSON, err := os.ReadFile(filepath.Join(o.Root, "host.json"))
	if err != nil {
		return "", err
	}
	exe, err := ReadExecutableName(hostJSON)
	if err != nil {
		return "", err
	}
	functions, err := FunctionFolders(o.Root)
	if err != nil {
		return "", err
	}
	for _, f := range functions {
		if f == exe || f == "host.json" {
			return "", fmt.Errorf("function folder %q collides with a file at the app root", f)
		}
	}
	app := filepath.Join(o.Out, "app")
	if err := os.RemoveAll(app); err != nil {
		return "", err
	}
	if err := os.MkdirAll(app, 0o755); err != nil {
		return "", err
	}
	if err := o.Compile(ctx, o.Root, filepath.Join(app, exe)); err != nil {
		return "", err
	}
	if err := os.Chmod(filepath.Join(app, exe), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(app, "host.json"), hostJSON, 0o644); err != nil {
		return "", err
	}
	for _, f := range functions {
		if err := copyFunction(filepath.Join(o.Root, "functions", f), filepath.Join(app, f)); err != nil {
			return "", err
		}
	}
	zipPath := filepath.Join(o.Out, ZipName)
	if err := writeZip(app, zipPath); err != nil {
		return "", err
	}
	return zipPath, nil
}

// copyFunction copies a function folder's files (function.json and any
// sibling the host reads), skipping Go sources, which belong to the binary.
func copyFunction(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".go") || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// zipEpoch is every entry's modification time, so the same inputs give the
// same zip.
var zipEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// writeZip zips dir's tree with paths relative to dir, keeping each file's
// Unix mode: the host runs the handler binary from the unpacked package, so
// its executable bit must survive.
func writeZip(dir, zipPath string) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		h.Method = zip.Deflate
		h.Modified = zipEpoch
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(zipPath, buf.Bytes(), 0o644)
}
