package report

import (
	"bytes"
	"fmt"
	"testing"
)

// TestWriteReportJSON: the parallel writer gives WriteJSON's bytes exactly,
// whatever lists are nil, empty, short or long, and whatever fields are
// left out.
func TestWriteReportJSON(t *testing.T) {
	many := func(n int) []Finding {
		var fs []Finding
		for i := range n {
			fs = append(fs, Finding{ID: fmt.Sprint("f_", i), Code: "AMOUNT_MISMATCH", Root: "ORD-<1>&", Message: fmt.Sprintf("captured %d \"EUR\"", i)})
		}
		return fs
	}
	reports := map[string]*Report{
		"nil lists":   {Schema: "vitals.report/v1"},
		"empty lists": {Schema: "vitals.report/v1", Sources: []Source{}, Findings: []Finding{}, Instances: []Instance{}},
		"short":       {Schema: "vitals.report/v1", Findings: many(3), Instances: []Instance{{Root: "ORD-1", Outcome: "completed"}}},
		"long, all fields": {Schema: "vitals.report/v1", Findings: many(1500), Resolved: many(2), Unchecked: many(3), Instances: []Instance{{Root: "ORD-1"}},
			RuleErrors: []RuleError{{Root: "ORD-1"}}, Shard: &ShardInfo{}, Merged: &MergeInfo{}},
	}
	for name, rep := range reports {
		var want, got bytes.Buffer
		if err := WriteJSON(&want, rep); err != nil {
			t.Fatal(err)
		}
		if err := writeReportJSON(&got, rep); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: differs from WriteJSON\n%s", name, firstDiff(got.String(), want.String()))
		}
	}
}

func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n got: %q\nwant: %q", i, got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
}
