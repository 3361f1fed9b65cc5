package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func shardRep(i, n int, findings ...Finding) *Report {
	return &Report{
		Schema:   Schema,
		Run:      Run{Process: "checkout", AsOf: "2026-11-20T12:00:00Z", Until: "2026-11-20T12:00:00Z", Grace: "15m0s", Complete: true},
		Sources:  []Source{{Name: "db", Type: "postgres", Records: 10, Coverage: Coverage{Complete: true}}},
		Summary:  Summary{Outcomes: map[string]int{}},
		Findings: findings,
		Shard:    &ShardInfo{Index: i, Count: n, Sources: []ShardSource{{Name: "db"}}},
	}
}

func TestMergeRefusesIncompleteSets(t *testing.T) {
	for _, tc := range []struct {
		name string
		reps []*Report
		want string
	}{
		{"missing", []*Report{shardRep(0, 3), shardRep(2, 3)}, "missing shard report(s) 1/3"},
		{"twice", []*Report{shardRep(0, 2), shardRep(0, 2)}, "shard 0/2 given twice"},
		{"mixed", []*Report{shardRep(0, 2), shardRep(1, 3)}, "different shardings"},
		{"not a shard", []*Report{{Schema: Schema}}, "not a shard report"},
	} {
		_, err := Merge(tc.reps)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	for what, change := range map[string]func(r *Report){
		"as_of":           func(r *Report) { r.Run.AsOf = "2026-11-21T12:00:00Z" },
		"digests":         func(r *Report) { r.Run.ConfigDigest = "other" },
		"--all-instances": func(r *Report) { r.Run.AllInstances = true },
	} {
		a, b := shardRep(0, 2), shardRep(1, 2)
		a.Path, b.Path = "s0.json", "s1.json"
		change(b)
		_, err := Merge([]*Report{a, b})
		if err == nil || !strings.Contains(err.Error(), what) || !strings.Contains(err.Error(), "s0.json (shard 0/2) and s1.json (shard 1/2)") {
			t.Errorf("shards of different %s merged, or the files not named: %v", what, err)
		}
	}
	a, b := shardRep(1, 2), shardRep(1, 2)
	a.Path, b.Path = "s1.json", "copy-of-s1.json"
	if _, err := Merge([]*Report{a, b}); err == nil || !strings.Contains(err.Error(), "shard 1/2 given twice: s1.json and copy-of-s1.json") {
		t.Errorf("a shard twice: %v", err)
	}
}

// With pushdown, an orphan candidate whose record another shard linked to
// an instance is dropped with its finding; the others stay.
func TestMergeSettlesOrphans(t *testing.T) {
	a := shardRep(0, 2, Finding{ID: "f_orphan1", Code: "ORPHAN_RECORD", Severity: "high", Root: "refund_id:re_1"},
		Finding{ID: "f_orphan2", Code: "ORPHAN_RECORD", Severity: "high", Root: "refund_id:re_2"})
	b := shardRep(1, 2)
	for _, r := range []*Report{a, b} {
		r.Shard.Sources[0].Pushdown = true
		r.Shard.Sources[0].Unrooted = 4
	}
	a.Summary.Orphans = 2
	a.Shard.Orphans = []OrphanCandidate{
		{Root: "refund_id:re_1", InWindow: true, Records: []string{"provider:refunds.csv:2|refund"}, Findings: []string{"f_orphan1"}},
		{Root: "refund_id:re_2", InWindow: true, Records: []string{"provider:refunds.csv:3|refund"}, Findings: []string{"f_orphan2"}},
	}
	b.Shard.Linked = []LinkedRecord{{Record: "provider:refunds.csv:2|refund", Instance: "ORD-7"}}
	m, err := Merge([]*Report{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Findings) != 1 || m.Findings[0].ID != "f_orphan2" || m.Summary.Orphans != 1 || m.Summary.Findings != 1 || m.Merged.DroppedOrphans != 1 {
		t.Errorf("merged %+v, summary %+v, info %+v; want only re_2 left an orphan", m.Findings, m.Summary, m.Merged)
	}
	// Records: 10 per shard, of which 4 (without a root key) every shard read.
	if got := m.Sources[0].Records; got != 16 {
		t.Errorf("merged records %d, want 6+6+4 = 16", got)
	}
}

func TestBaselineRefusesAShardReport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "shard.json")
	b, _ := json.Marshal(shardRep(1, 4))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBaseline(p); err == nil || !strings.Contains(err.Error(), "shard 1/4 only") {
		t.Errorf("a shard report taken as baseline: %v", err)
	}
}

// Times in reports are RFC 3339 text with an optional fraction of a
// second, which text order gets wrong ("12:00:00.5Z" < "12:00:00Z"): a
// finding of an instance that started half a second into the window and
// is gone is resolved, not aged out; a merge keeps the earliest end of
// the shards' coverage.
func TestTimesCompareAsTimes(t *testing.T) {
	prev := shardRep(0, 1, Finding{ID: "f_1", Code: "STEP_OVERDUE", Severity: "medium", Root: "ORD-1", Started: "2026-11-18T12:00:00.5Z"})
	prev.Shard = nil
	rep := shardRep(0, 1)
	rep.Shard = nil
	rep.Run.Since = "2026-11-18T12:00:00Z"
	ApplyBaseline(rep, prev, "prev.json")
	if len(rep.Resolved) != 1 {
		t.Errorf("resolved %+v: the instance started inside the window", rep.Resolved)
	}

	a, b := shardRep(0, 2), shardRep(1, 2)
	a.Sources[0].Coverage.Until = "2026-11-20T11:50:00.5Z"
	b.Sources[0].Coverage.Until = "2026-11-20T11:50:00Z"
	m, err := Merge([]*Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Sources[0].Coverage.Until; got != "2026-11-20T11:50:00Z" {
		t.Errorf("merged coverage until %s, want the earlier end 2026-11-20T11:50:00Z", got)
	}
}
