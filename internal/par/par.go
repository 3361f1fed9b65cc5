// Package par runs a loop's iterations on every core.
package par

import (
	"runtime"
	"sync"
)

// Split cuts [0, n) into one contiguous range per core (GOMAXPROCS),
// calls fn on each in its own goroutine with the range's number w
// (0 <= w < Workers(), for per-worker state), and returns when all are
// done. Empty ranges are not called.
func Split(n int, fn func(w, lo, hi int)) {
	workers := Workers()
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

// Workers is how many ranges Split makes at most.
func Workers() int { return runtime.GOMAXPROCS(0) }
