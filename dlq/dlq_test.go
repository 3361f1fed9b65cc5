package dlq_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/internal/vitalstest"

	"github.com/vitals-dev/vitals/dlq"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/report"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

func triage(t *testing.T, path string) *dlq.Triaged {
	t.Helper()
	res := vitalstest.Run(t, path, reconcile.Options{})
	tr, err := dlq.Build(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

const (
	fixtures = "../fixtures/cases/"
	own      = "../plan/testdata/cases/"
)

// TestVerdicts checks the verdict on the dead letter of each case, and
// that its reason says why.
func TestVerdicts(t *testing.T) {
	tests := []struct {
		config  string
		root    string
		step    string
		verdict dlq.Verdict
		reason  string
	}{
		// Reprocessed later: the order exists.
		{fixtures + "dlq_reprocessed", "ORD-2031", "create_order", dlq.Resolved, "create_order succeeded at "},
		// Paid, no order, nothing undone, create_order idempotent: replay.
		{fixtures + "dead_letter_order", "ORD-2111", "create_order", dlq.Replay, "replay ORIGINAL"},
		// A notification after the pivot: notify is idempotent.
		{fixtures + "notify_dead_letter", "ORD-2261", "notify", dlq.Replay, "replay ORIGINAL"},
		// The stock was released since: a replay would create an order being undone.
		{own + "dead_letter_compensate", "ORD-3006", "create_order", dlq.Compensate, "release_stock began at 2026-11-20T09:20:00Z"},
		// The stock was released and the money refunded since: the instance
		// is undone, and the dead letter is moot.
		{own + "dead_letter_undone", "ORD-3006", "create_order", dlq.Resolved, "the instance was undone (every compensation done)"},
		// The same, but only 10.00 of 25.00 EUR came back: not moot yet.
		{own + "dead_letter_partly_undone", "ORD-3006", "create_order", dlq.Compensate, "a replay would act on an instance being undone"},
		// generate_invoice is not idempotent.
		{own + "dead_letter_manual", "ORD-3007", "generate_invoice", dlq.Manual, "not marked idempotent"},
		// No order shows, but the invoice and the notification after it do:
		// the effect may have happened some other way.
		{own + "dead_letter_later_step_succeeded", "ORD-3016", "create_order", dlq.Manual, "generate_invoice, after it, succeeded at 2026-11-20T09:01:20Z"},
		// Nothing but the dead letter.
		{own + "dead_letter_alone", "ORD-9999", "create_order", dlq.Manual, "the only trace of order ORD-9999"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.config), func(t *testing.T) {
			tr := triage(t, tt.config+"/config.yaml")
			if len(tr.Letters) != 1 {
				t.Fatalf("%d dead letters, want 1", len(tr.Letters))
			}
			l := tr.Letters[0]
			if l.Root != tt.root || l.Step != tt.step || l.Verdict != tt.verdict {
				t.Errorf("%s / %s: %s, want %s / %s: %s", l.Root, l.Step, l.Verdict, tt.root, tt.step, tt.verdict)
			}
			want := tt.reason
			if l.Original != nil {
				// The original topic/partition@offset, as the record says.
				want = strings.ReplaceAll(want, "ORIGINAL", l.Original.String())
			}
			if !strings.Contains(l.Reason, want) {
				t.Errorf("reason %q does not say %q", l.Reason, want)
			}
			if strings.Contains(l.Reason, "\n") {
				t.Errorf("reason %q is more than one line", l.Reason)
			}
			if tr.Summary.ByVerdict[string(tt.verdict)] != 1 || tr.Summary.Letters != 1 {
				t.Errorf("summary %+v does not count the one %s letter", tr.Summary, tt.verdict)
			}
		})
	}
}

// TestOneReplayPerStep: two dead-lettered messages of one step (both
// PaymentCaptured events of a double capture) are two different messages:
// create_order dedupes by event id, so replaying both could create the
// order twice. Neither is a replay; a person picks one.
func TestOneReplayPerStep(t *testing.T) {
	tr := triage(t, own+"dead_letters_two_captures/config.yaml")
	if len(tr.Letters) != 2 {
		t.Fatalf("%d dead letters, want 2", len(tr.Letters))
	}
	for _, l := range tr.Letters {
		if l.Step != "create_order" || l.Verdict != dlq.Manual || !strings.Contains(l.Reason, "2 dead letters of create_order") {
			t.Errorf("%s: %s / %s (%q), want create_order / manual: 2 dead letters of create_order", l.At, l.Step, l.Verdict, l.Reason)
		}
	}
}

// TestReplayNeedsItsOrigin: a dead letter that does not say where the
// message came from is never a replay, however safe the step.
func TestReplayNeedsItsOrigin(t *testing.T) {
	dir := t.TempDir()
	src := fixtures + "dead_letter_order"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "dead_letters.jsonl" {
			b = regexp.MustCompile(`"__connect.errors.offset":"\d+",?`).ReplaceAll(b, nil)
		}
		if e.Name() == "config.yaml" {
			abs, _ := filepath.Abs("../configs/checkout.yaml")
			b = []byte("extends: " + abs + "\ndata_dir: .\n")
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr := triage(t, filepath.Join(dir, "config.yaml"))
	if len(tr.Letters) != 1 {
		t.Fatalf("%d dead letters, want 1", len(tr.Letters))
	}
	if l := tr.Letters[0]; l.Verdict != dlq.Manual || l.Original != nil || !strings.Contains(l.Reason, "original topic/partition/offset") {
		t.Errorf("verdict %s (%q), original %v; want manual: it cannot be replayed", l.Verdict, l.Reason, l.Original)
	}
}

// TestClasses checks the summary by error class on the demo data.
func TestClasses(t *testing.T) {
	tr := triage(t, "../configs/checkout.yaml")
	if len(tr.Classes) != 2 {
		t.Fatalf("%d classes, want 2: %+v", len(tr.Classes), tr.Classes)
	}
	c := tr.Classes[0]
	if c.Class != "java.util.concurrent.TimeoutException" || c.Count != 4 {
		t.Errorf("first class %s ×%d, want the TimeoutException ×4 (most frequent first)", c.Class, c.Count)
	}
	total := 0
	for _, c := range tr.Classes {
		total += c.Count
		if c.FirstSeen.After(c.LastSeen) {
			t.Errorf("%s: first seen %s after last seen %s", c.Class, c.FirstSeen, c.LastSeen)
		}
		var first time.Time
		for _, l := range tr.Letters {
			if l.ErrorClass == c.Class && (first.IsZero() || l.Time.Before(first)) {
				first = l.Time
			}
		}
		if !c.FirstSeen.Equal(first) {
			t.Errorf("%s: first seen %s, but its earliest letter is at %s", c.Class, c.FirstSeen, first)
		}
		if c.Example.At == "" || c.Example.Message == "" {
			t.Errorf("%s: example %+v lacks a location or message", c.Class, c.Example)
		}
	}
	if total != len(tr.Letters) {
		t.Errorf("classes count %d letters, the triage has %d", total, len(tr.Letters))
	}
}

// TestGolden compares the table and JSON forms with the expected files.
func TestGolden(t *testing.T) {
	cases := map[string]string{
		"checkout":               "../configs/checkout.yaml",
		"dead_letter_compensate": own + "dead_letter_compensate/config.yaml",
		"dead_letter_manual":     own + "dead_letter_manual/config.yaml",
		"dead_letter_alone":      own + "dead_letter_alone/config.yaml",
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			tr := triage(t, path)
			for _, f := range []report.Format{report.FormatTable, report.FormatJSON} {
				var b bytes.Buffer
				if err := report.WriteDLQ(&b, tr, f); err != nil {
					t.Fatal(err)
				}
				ext := map[report.Format]string{report.FormatTable: "txt", report.FormatJSON: "json"}[f]
				golden(t, filepath.Join("testdata", name, "dlq."+ext), b.String())
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	vitalstest.Golden(t, path, got, *update, "./dlq")
}
