//go:build !linux

package embedded

// releaseMapped does nothing where the release is not implemented.
func releaseMapped(uintptr, int) error { return nil }
