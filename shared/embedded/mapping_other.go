//go:build !(linux || freebsd)

package embedded

// canReleaseMapped reports whether this system can drop the mapped pages
// of the data file from the process (mapping_madvise.go). Here it cannot
// through the same call: macOS documents MADV_DONTNEED as advice it may
// ignore, and Windows trims a process's working set of file-backed pages
// itself under memory pressure. The embedded backend then leaves the
// pages to the system, and the resident size follows the data file.
const canReleaseMapped = false

func releaseMapped(uintptr, int) error { return nil }
