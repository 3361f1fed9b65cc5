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
	a, b := shardRep(0, 2), shardRep(1, 2)
	b.Run.AsOf = "2026-11-21T12:00:00Z"
	if _, err := Merge([]*Report{a, b}); err == nil || !strings.Contains(err.Error(), "as_of") {
		t.Errorf("shards of different as_of merged: %v", err)
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
