package reconcile

import (
	"testing"
	"time"

	"github.com/vitals-dev/vitals/saga"
)

// TestSetTimes: the window and grace tests in unix nanoseconds agree with
// the same tests on time.Time, at their edges and beyond the nanosecond
// range.
func TestSetTimes(t *testing.T) {
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	ins := []Input{
		{AsOf: asOf, Since: asOf.Add(-48 * time.Hour), Until: asOf, Grace: 15 * time.Minute},
		{AsOf: asOf, Until: asOf, Grace: 15 * time.Minute}, // no lower bound
		{AsOf: asOf, Since: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), Until: asOf, Grace: time.Hour},
		{AsOf: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), Until: asOf, Grace: time.Hour},
	}
	var starts []int64
	for _, in := range ins {
		for _, b := range []time.Time{in.Since, in.Until, in.AsOf.Add(-in.Grace)} {
			if !b.IsZero() && inNanoRange(b.UnixNano()) {
				starts = append(starts, b.UnixNano()-1, b.UnixNano(), b.UnixNano()+1)
			}
		}
	}
	starts = append(starts, 0, -nanoRange+1, nanoRange-1, -nanoRange-5, nanoRange+5)
	for i := range ins {
		in := &ins[i]
		x := &inferer{r: &Result{In: in}, win: newNanoWindow(in)}
		for _, ns := range starts {
			var got saga.Instance
			x.setTimes(&got, ns, ns)
			start := time.Unix(0, ns).UTC()
			inWindow := (in.Since.IsZero() || !start.Before(in.Since)) && start.Before(in.Until)
			inGrace := in.AsOf.Sub(start) < in.Grace
			if got.InWindow != inWindow || got.InGrace != inGrace || !got.Start.Equal(start) {
				t.Errorf("input %d, start %d: window %v grace %v, want %v %v", i, ns, got.InWindow, got.InGrace, inWindow, inGrace)
			}
		}
	}
}
