// Package thp asks the kernel to back large, long-lived arrays with
// transparent huge pages.
//
// The record store is hundreds of megabytes of pointer-free chunks written
// once, front to back. With 4 KiB pages, every 4 KiB written first takes a
// page fault, and on a virtual machine a fault costs several microseconds:
// at a million instances the store's chunks took about 120,000 of the run's
// 270,000 faults. On Linux with transparent huge pages in "madvise" mode (the
// default of most distributions) the Go runtime does not ask for huge pages,
// so the store asks for its own chunks. In "always" mode the advice changes
// nothing, in "never" mode the kernel ignores it, and elsewhere it is a
// no-op.
package thp

import "unsafe"

// MinSize is the smallest array worth advising: below it the system call
// costs more than the faults it can save.
const MinSize = 256 << 10

// Advise marks the memory of s (its whole capacity) as eligible for huge
// pages. It pays only when called before s is first written: the kernel backs
// a 2 MiB range with a huge page when the range takes its first fault. The
// advice covers the whole 2 MiB pages around s, which may hold other heap
// objects; that is harmless. Errors are ignored: the advice is a hint.
func Advise[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var zero T
	n := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if n < MinSize {
		return
	}
	advise(uintptr(unsafe.Pointer(unsafe.SliceData(s[:1]))), n)
}
