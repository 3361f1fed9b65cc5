package report

import (
	"strings"
	"testing"
)

// TestBaselineResolvesOnlyWhatWasJudged: a finding that is gone is
// resolved only when this run judged its instance; one whose instance
// started before the window, at or after its end (a run with an earlier
// as_of), or within the grace period is no longer checked, not resolved.
func TestBaselineResolvesOnlyWhatWasJudged(t *testing.T) {
	cases := []struct {
		started  string
		resolved bool
	}{
		{"2026-11-20T08:00:00Z", true},   // inside the window, older than grace
		{"2026-11-19T23:59:59Z", false},  // before since
		{"2026-11-20T12:00:00Z", false},  // at until
		{"2026-11-20T13:39:00Z", false},  // after until: the baseline's as_of was later
		{"2026-11-20T11:50:00Z", false},  // within the 15m grace before as_of
		{"2026-11-20T11:44:59.5Z", true}, // just older than the grace
		{"", true},                       // start unknown: judged
	}
	for _, c := range cases {
		prev := &Report{Run: Run{AsOf: "2026-11-20T14:00:00Z"}, Findings: []Finding{{ID: "f_1", Code: "STEP_OVERDUE", Severity: "medium", Root: "ORD-1", Started: c.started}}}
		rep := &Report{Run: Run{AsOf: "2026-11-20T12:00:00Z", Since: "2026-11-20T00:00:00Z", Until: "2026-11-20T12:00:00Z", Grace: "15m0s", Complete: true}}
		ApplyBaseline(rep, prev, "prev.json")
		if got := len(rep.Resolved) == 1; got != c.resolved {
			t.Errorf("instance started %q: resolved %v, want %v", c.started, got, c.resolved)
		}
		if got := rep.Summary.Baseline.Resolved == 1; got != c.resolved {
			t.Errorf("instance started %q: resolved count %d", c.started, rep.Summary.Baseline.Resolved)
		}
	}
}

// TestMissingBaselineSaysWhatToDo: the first night has no baseline yet.
func TestMissingBaselineSaysWhatToDo(t *testing.T) {
	_, err := LoadBaseline(t.TempDir() + "/yesterday.json")
	if err == nil || !strings.Contains(err.Error(), "yesterday.json") || !strings.Contains(err.Error(), "leave out --baseline") {
		t.Errorf("missing baseline: %v", err)
	}
}
