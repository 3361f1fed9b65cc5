package par

import (
	"sync/atomic"
	"testing"
)

// TestSplit: every index is visited exactly once, whatever n is against
// the number of cores, and empty ranges are not called.
func TestSplit(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 1000, 1001} {
		seen := make([]atomic.Int32, n)
		Split(n, func(w, lo, hi int) {
			if w < 0 || w >= Workers() {
				t.Errorf("n=%d: worker %d", n, w)
			}
			if lo >= hi {
				t.Errorf("n=%d: empty range [%d, %d) called", n, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, c)
			}
		}
	}
}
