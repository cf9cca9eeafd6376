package handlers

import (
	"io/fs"
	"maps"
	"slices"
	"testing"

	"github.com/galsync/galsync/functions"
)

// Every function folder has a route, and every route a function folder: the
// host invokes /<folder name>, so a mismatch is a function that never runs.
func TestEveryFunctionHasARouteAndEveryRouteAFunction(t *testing.T) {
	entries, err := fs.ReadDir(functions.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := fs.Stat(functions.FS, e.Name()+"/function.json"); err != nil {
				t.Errorf("folder %s has no function.json", e.Name())
			}
			folders = append(folders, e.Name())
		}
	}
	routes := slices.Sorted(maps.Keys(Routes(Deps{})))
	slices.Sort(folders)
	if !slices.Equal(folders, routes) {
		t.Fatalf("function folders %v, handler routes %v", folders, routes)
	}
}
