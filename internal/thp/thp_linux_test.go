package thp

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// vmFlags returns the VmFlags of the mapping that holds addr, from
// /proc/self/smaps.
func vmFlags(t *testing.T, addr uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			lo, hi, _ := strings.Cut(fields[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			z, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(addr) >= a && uint64(addr) < z
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("no mapping holds %#x", addr)
	return nil
}

func thpMode(t *testing.T) string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		t.Skipf("no transparent huge pages: %v", err)
	}
	s := string(b)
	if i := strings.Index(s, "["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// TestAdvise: an advised array's mapping carries the kernel's "hg" flag
// (MADV_HUGEPAGE); a small array is left alone.
func TestAdvise(t *testing.T) {
	if mode := thpMode(t); mode == "never" {
		t.Skip("transparent huge pages are off on this machine")
	}
	big := make([]uint32, 4<<20) // 16 MiB
	Advise(big)
	addr := uintptr(unsafe.Pointer(&big[len(big)/2]))
	if flags := vmFlags(t, addr); !slices.Contains(flags, "hg") {
		t.Errorf("advised array: VmFlags %v, want hg", flags)
	}
}

func TestAdviseSmallOrEmpty(t *testing.T) {
	Advise([]byte(nil))
	Advise(make([]byte, 0))
	small := make([]byte, MinSize-1)
	Advise(small) // must not panic; too small to be worth a system call
}
