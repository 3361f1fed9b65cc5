package report

import (
	"encoding/json"
	"os"
	"path/filepath"
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
		b := rep.Summary.Baseline
		if got := b.Resolved == 1; got != c.resolved {
			t.Errorf("instance started %q: resolved count %d", c.started, b.Resolved)
		}
		// Nothing is lost: what is not resolved aged out (started before
		// the window) or is carried as unchecked.
		if b.Resolved+b.AgedOut+b.Unchecked != 1 || len(rep.Unchecked) != b.Unchecked {
			t.Errorf("instance started %q: baseline counts %+v, %d unchecked listed", c.started, *b, len(rep.Unchecked))
		}
	}
}

// TestIncompleteNightKeepsHistory: night 2 lost a source, so it could not
// check night 1's dead-letter finding; night 3 sees it again and must call
// it open since night 1, not new.
func TestIncompleteNightKeepsHistory(t *testing.T) {
	f := Finding{ID: "f_dlq", Code: "DEAD_LETTER", Severity: "high", Root: "ORD-1", Started: "2026-11-20T08:00:00Z"}
	night := func(asOf string, complete bool, fs ...Finding) *Report {
		return &Report{Run: Run{Process: "checkout", AsOf: asOf, Since: "2026-11-19T00:00:00Z", Until: asOf, Grace: "15m0s", Complete: complete}, Findings: fs}
	}
	n1 := night("2026-11-20T12:00:00Z", true, f)
	n2 := night("2026-11-21T00:00:00Z", false)
	ApplyBaseline(n2, n1, "n1.json")
	if len(n2.Resolved) != 0 || len(n2.Unchecked) != 1 || n2.Unchecked[0].Status != "unchecked" || n2.Unchecked[0].FirstSeen != n1.Run.AsOf {
		t.Fatalf("incomplete night: resolved %v, unchecked %+v", n2.Resolved, n2.Unchecked)
	}
	n3 := night("2026-11-21T12:00:00Z", true, f)
	ApplyBaseline(n3, n2, "n2.json")
	if got := n3.Findings[0]; got.Status != "open" || got.FirstSeen != n1.Run.AsOf {
		t.Errorf("night 3: %s since %s, want open since night 1 (%s)", got.Status, got.FirstSeen, n1.Run.AsOf)
	}
	// Had night 3 not seen it, it would be resolved, as first seen on night 1.
	n3 = night("2026-11-21T12:00:00Z", true)
	ApplyBaseline(n3, n2, "n2.json")
	if len(n3.Resolved) != 1 || n3.Resolved[0].FirstSeen != n1.Run.AsOf {
		t.Errorf("night 3 without it: resolved %+v", n3.Resolved)
	}
}

// TestCheckBaseline: another process's report, or a later one, is refused;
// other rules only warn.
func TestCheckBaseline(t *testing.T) {
	prev := &Report{Path: "prev.json", Run: Run{Process: "checkout", AsOf: "2026-11-20T12:00:00Z", ConfigDigest: "aaa"}}
	for _, c := range []struct {
		run        Run
		warn, fail string
	}{
		{Run{Process: "checkout", AsOf: "2026-11-21T12:00:00Z", ConfigDigest: "aaa"}, "", ""},
		{Run{Process: "checkout", AsOf: "2026-11-20T12:00:00Z", ConfigDigest: "aaa"}, "", ""},
		{Run{Process: "payouts", AsOf: "2026-11-21T12:00:00Z", ConfigDigest: "aaa"}, "", `a report of process "checkout", this run audits "payouts"`},
		{Run{Process: "checkout", AsOf: "2026-11-19T12:00:00Z", ConfigDigest: "aaa"}, "", "after this run's as_of"},
		{Run{Process: "checkout", AsOf: "2026-11-21T12:00:00Z", ConfigDigest: "bbb"}, "with other rules", ""},
	} {
		warn, err := CheckBaseline(prev, c.run)
		switch {
		case c.fail != "" && (err == nil || !strings.Contains(err.Error(), c.fail) || !strings.Contains(err.Error(), "prev.json")):
			t.Errorf("%+v: error %v, want one naming prev.json and saying %q", c.run, err, c.fail)
		case c.fail == "" && err != nil:
			t.Errorf("%+v: %v", c.run, err)
		case (c.warn == "") != (warn == "") || !strings.Contains(warn, c.warn):
			t.Errorf("%+v: warning %q, want %q", c.run, warn, c.warn)
		}
	}
}

// TestTruncatedReport: an empty or cut-off report says so, not "not a
// vitals report".
func TestTruncatedReport(t *testing.T) {
	dir := t.TempDir()
	full, err := json.Marshal(&Report{Schema: Schema, Run: Run{Process: "checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		body []byte
		want string
	}{
		"empty.json": {nil, "is empty"},
		"cut.json":   {full[:len(full)/2], "is cut off after"},
		"other.json": {[]byte(`{"schema": 3}`), "is not a vitals JSON report"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, c.body, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, load := range []func(string) (*Report, error){Load, LoadBaseline} {
			if _, err := load(path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: %v; want %q", name, err, c.want)
			}
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
