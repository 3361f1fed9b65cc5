package reconcile

import (
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	specs := []SourceSpec{{Name: "shopdb"}, {Name: "events"}, {Name: "dlq"}}
	sinks := []*sink{{}, {}, {}}
	start := time.Unix(1000, 0)
	sinks[0].progress.Store(12_000)
	sinks[1].progress.Store(2_500_000)
	sinks[2].progress.Store(6)
	sinks[2].finish(nil)
	got := progressLine(specs, sinks, start, start.Add(2*time.Second), 200)
	want := "reading  shopdb 12k 6000/s  events 2.5M 1.2M/s  dlq 6 done"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	sinks[0].finish(errTest)
	if got := progressLine(specs, sinks, start, start.Add(time.Second), 200); !strings.Contains(got, "shopdb 12k FAILED") {
		t.Errorf("failed source: %q", got)
	}
	if got := progressLine(specs, sinks, start, start.Add(time.Second), 30); len([]rune(got)) != 29 || !strings.HasSuffix(got, "…") {
		t.Errorf("not cut to the width: %q", got)
	}
}

var errTest = errTestType{}

type errTestType struct{}

func (errTestType) Error() string { return "test" }
