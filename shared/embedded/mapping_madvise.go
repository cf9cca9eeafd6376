//go:build linux || freebsd

package embedded

import "syscall"

// canReleaseMapped: this system drops mapped pages on request.
const canReleaseMapped = true

// releaseMapped drops the pages of [data, data+size), a part of bbolt's
// shared, read-only map of the data file, from the process's page tables
// (madvise(2) MADV_DONTNEED). The pages stay in the kernel's page cache;
// a later read maps them again without I/O. The caller holds a read
// transaction, so bbolt cannot remap the file meanwhile.
func releaseMapped(data uintptr, size int) error {
	if size <= 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, data, uintptr(size), syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
