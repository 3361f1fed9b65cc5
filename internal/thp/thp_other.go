//go:build !linux

package thp

func advise(start, n uintptr) {}
