package par

import (
	"cmp"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
)

// TestSplit: every index is visited exactly once, whatever n is against
// the number of cores, and empty ranges are not called.
func TestSplit(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 1000, 1001} {
		seen := make([]atomic.Int32, n)
		Split(Workers(), n, func(w, lo, hi int) {
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

// TestSortFunc: the parallel sort gives slices.SortFunc's order, for
// sizes around the cut-over and worker counts that do not divide them.
func TestSortFunc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(3, 4))
	for _, procs := range []int{1, 2, 3, 4, 7} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 5, 1<<14 - 1, 1 << 14, 100003} {
			s := make([]int, n)
			for i := range s {
				s[i] = rng.IntN(n/2+1)*1_000_000 + i // distinct: a total order
			}
			want := slices.Clone(s)
			slices.Sort(want)
			SortFunc(s, func(a, b int) int { return cmp.Compare(a, b) })
			if !slices.Equal(s, want) {
				t.Fatalf("GOMAXPROCS=%d, n=%d: not sorted as slices.Sort sorts", procs, n)
			}
		}
	}
}
