// Package par runs a loop's iterations on every core.
package par

import (
	"runtime"
	"slices"
	"sync"
)

// Split cuts [0, n) into at most workers contiguous ranges, calls fn on
// each in its own goroutine with the range's number w (0 <= w < workers,
// for per-worker state), and returns when all are done. Empty ranges are
// not called. Callers take workers from Workers once and keep it: the
// runtime may change GOMAXPROCS while a program runs (a container's CPU
// limit changed), and two Splits of one job must cut the same ranges.
func Split(workers, n int, fn func(w, lo, hi int)) {
	workers = max(workers, 1)
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	wg.Wait()
}

// Workers is how many cores Go runs goroutines on now (GOMAXPROCS).
func Workers() int { return runtime.GOMAXPROCS(0) }

// SortFunc sorts s as slices.SortFunc does: Split's ranges each on a
// core, then merged pairwise. cmp must be a total order (it never
// returns 0 for two different elements), so the result is exactly the
// one slices.SortFunc gives.
func SortFunc[E any](s []E, cmp func(a, b E) int) {
	w := Workers()
	if w < 2 || len(s) < 1<<14 {
		slices.SortFunc(s, cmp)
		return
	}
	per := (len(s) + w - 1) / w
	Split(w, len(s), func(_, lo, hi int) { slices.SortFunc(s[lo:hi], cmp) })
	src, dst := s, make([]E, len(s))
	for width := per; width < len(s); width *= 2 {
		var wg sync.WaitGroup
		for lo := 0; lo < len(s); lo += 2 * width {
			mid, hi := min(lo+width, len(s)), min(lo+2*width, len(s))
			wg.Add(1)
			go func() {
				defer wg.Done()
				merge(dst[lo:hi], src[lo:mid], src[mid:hi], cmp)
			}()
		}
		wg.Wait()
		src, dst = dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
}

// merge merges the sorted a and b into out (len(a)+len(b) long).
func merge[E any](out, a, b []E, cmp func(a, b E) int) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			out[k] = b[j]
			j++
		} else {
			out[k] = a[i]
			i++
		}
		k++
	}
	k += copy(out[k:], a[i:])
	copy(out[k:], b[j:])
}
