package thp

import "syscall"

const hugePage = 2 << 20

// madvHugepage is MADV_HUGEPAGE, 14 on every Linux architecture.
const madvHugepage = 14

func advise(start, n uintptr) {
	lo := start &^ (hugePage - 1)
	hi := (start + n + hugePage - 1) &^ (hugePage - 1)
	syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, madvHugepage)
}
