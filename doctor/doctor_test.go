package doctor_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-dev/vitals/internal/vitalstest"

	"github.com/vitals-dev/vitals/doctor"
	"github.com/vitals-dev/vitals/reconcile"
)

func setup(t *testing.T, path string) *reconcile.Input {
	t.Helper()
	return vitalstest.Input(t, path)
}

func TestDoctorOnTheFileDemo(t *testing.T) {
	in := setup(t, "../configs/checkout.yaml")
	results, err := doctor.Run(context.Background(), in, doctor.Options{Samples: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := doctor.Failed(results, false); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := doctor.Write(&out, in, results); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"shopdb (file)", "provider (file)", "events (file)", "dlq (file)",
		"events:events.jsonl:1  event:PaymentRequested", // samples first by location
		"mapping errors (1; the first 1 by location)",
		"events:events.jsonl:1591  invalid JSON",
		"customer_email=***", // masked
		"kinds     order 307, order_failed 10, reservation 320, stock_release 12",
		"4 source(s) checked: 4 ok, 0 failed",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "@example.com") {
		t.Error("a masked attribute is shown")
	}
	if strings.Contains(s, "WARNING") {
		t.Errorf("a warning on the demo:\n%s", s)
	}
	// The same output every time.
	results2, _ := doctor.Run(context.Background(), in, doctor.Options{Samples: 2})
	var out2 strings.Builder
	_ = doctor.Write(&out2, in, results2)
	if strip(out2.String()) != strip(s) {
		t.Error("two runs gave different output")
	}
}

// TestDoctorWarnsOfAnEmptyKind: a mapping whose condition matches no row
// (a status written 'FAILED' where the config says 'failed') reads nothing,
// and a check would then call its compensation missing; doctor says so.
func TestDoctorWarnsOfAnEmptyKind(t *testing.T) {
	cfg := vitalstest.DemoConfig(t, t.TempDir(), `when: status == "failed"`, `when: status == "FAILED"`)
	// DemoConfig points data_dir at the new directory: read the demo's files.
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	demo, err := filepath.Abs("../fixtures/checkout")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "data_dir: "+filepath.Dir(cfg), "data_dir: "+demo, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	in := setup(t, cfg)
	results, err := doctor.Run(context.Background(), in, doctor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := doctor.Write(&out, in, results); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "order_failed 0") || !strings.Contains(s, "WARNING   no order_failed record read") {
		t.Errorf("no warning of the empty kind:\n%s", s)
	}
}

// strip drops durations, which vary.
func strip(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, " records in "); i >= 0 {
			l = l[:i]
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func TestDoctorUnknownSource(t *testing.T) {
	in := setup(t, "../configs/checkout.yaml")
	if _, err := doctor.Run(context.Background(), in, doctor.Options{Only: []string{"nope"}}); err == nil {
		t.Fatal("no error for an unknown source")
	}
}

// TestDoctorNothingMapped: a source that reads input but can map none of
// it fails the check, though it connected and read to the end.
func TestDoctorNothingMapped(t *testing.T) {
	dir := vitalstest.CopyDemo(t, func(name string, b []byte) (string, []byte) {
		if name == "dead_letters.jsonl" {
			b = []byte("this is not json\n{\"also\": \"not a dead letter\"\n")
		}
		return name, b
	})
	path := vitalstest.DemoConfig(t, dir)
	in := setup(t, path)
	results, err := doctor.Run(context.Background(), in, doctor.Options{Only: []string{"dlq", "provider"}})
	if err != nil {
		t.Fatal(err)
	}
	err = doctor.Failed(results, false)
	if err == nil || !strings.Contains(err.Error(), `source "dlq" (file): all 2 input(s) read failed their mapping`) || strings.Contains(err.Error(), "provider") {
		t.Errorf("Failed: %v; want dlq, and only dlq, named", err)
	}
	var out strings.Builder
	if err := doctor.Write(&out, in, results); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"read      FAILED: 0 records", "2 source(s) checked: 1 ok, 1 failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}
