package report_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/internal/vitalstest"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/report"
)

// TestEvidenceInTimeOrder: a finding cites its evidence in time order,
// a fraction of a second included (as text, "09:00:03.5Z" sorts before
// "09:00:03Z").
func TestEvidenceInTimeOrder(t *testing.T) {
	dir := vitalstest.CopyCase(t, "captured_without_order")
	events := filepath.Join(dir, "events.jsonl")
	b, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	// The capture event comes half a second after the charge (09:00:03).
	if err := os.WriteFile(events, []byte(strings.Replace(string(b), "09:00:04.000Z", "09:00:03.500Z", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	res := vitalstest.Run(t, filepath.Join(dir, "config.yaml"), reconcile.Options{})
	rep, err := report.Build(context.Background(), res, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || len(rep.Findings[0].Evidence) != 2 {
		t.Fatalf("findings %+v: want CAPTURED_WITHOUT_ORDER citing the charge and the capture event", rep.Findings)
	}
	var last time.Time
	for _, e := range rep.Findings[0].Evidence {
		at, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil {
			t.Fatal(err)
		}
		if at.Before(last) {
			t.Errorf("evidence %s at %s comes after later evidence", e.At, e.Time)
		}
		last = at
	}
}

// TestMarkdownRowIsOneLine: a markdown table row is one line, so a value
// holding a line break (a dead letter's multi-line error message) must not
// start a row of its own.
func TestMarkdownRowIsOneLine(t *testing.T) {
	rep := &report.Report{
		Run:      report.Run{Process: "checkout", AsOf: "2026-11-20T12:00:00Z", Until: "2026-11-20T12:00:00Z", Complete: true},
		Summary:  report.Summary{Findings: 1, BySeverity: map[string]int{"high": 1}},
		Findings: []report.Finding{{Severity: "high", Code: "UNRESOLVED_DEAD_LETTER", Root: "ORD-1", Message: "dead letter (Timeout: line one\nline two\r\nline three)"}},
	}
	var b strings.Builder
	if err := report.Write(&b, rep, report.FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	_, findings, _ := strings.Cut(b.String(), "## Findings")
	var rows []string
	for _, line := range strings.Split(findings, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| severity") {
			rows = append(rows, line)
		}
	}
	if len(rows) != 1 || !strings.Contains(rows[0], "line one line two line three") {
		t.Errorf("finding rows:\n%s\nwant one row holding the whole message", strings.Join(rows, "\n"))
	}
}

// TestMarkdownTableEndsBeforeText: GitHub reads a line right below a table
// as one more row, so the list of bad input is set off by a blank line.
func TestMarkdownTableEndsBeforeText(t *testing.T) {
	rep := &report.Report{
		Run:     report.Run{Process: "checkout", AsOf: "2026-11-20T12:00:00Z", Until: "2026-11-20T12:00:00Z", Complete: true},
		Sources: []report.Source{{Name: "events", Type: "file", Records: 10, Errors: 1, Coverage: report.Coverage{Complete: true}, BadInput: []report.BadInput{{At: "events:events.jsonl:7", Error: "invalid JSON"}}}},
	}
	var b strings.Builder
	if err := report.Write(&b, rep, report.FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "events: 1 input(s) could not be read") {
			if i == 0 || lines[i-1] != "" {
				t.Errorf("line %d %q follows %q: want a blank line between the table and the text", i+1, line, lines[i-1])
			}
			return
		}
	}
	t.Fatalf("no bad input listed:\n%s", b.String())
}
