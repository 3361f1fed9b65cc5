package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vitals-dev/vitals/dlq"
	"github.com/vitals-dev/vitals/emit"
	"github.com/vitals-dev/vitals/internal/vitalstest"
	"github.com/vitals-dev/vitals/plan"
	"github.com/vitals-dev/vitals/report"
)

// TestPlanCommand runs vitals plan in each format.
func TestPlanCommand(t *testing.T) {
	cfg := caseConfig("dead_letter_order")
	stdout, stderr, code := run(t, "plan", "-c", cfg)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"replay_dead_letter", "dead_letter checkout.events/", "check just before executing", "Dry run: nothing was sent"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table output lacks %q:\n%s", want, stdout)
		}
	}
	js, _, code := run(t, "plan", "-c", cfg, "--format", "json")
	var p plan.Plan
	if err := json.Unmarshal([]byte(js), &p); err != nil || code != ExitOK {
		t.Fatalf("exit %d; not a JSON plan: %v", code, err)
	}
	if p.Schema != plan.Schema || p.ID != plan.ID(p.Actions) || !strings.Contains(stdout, p.ID) {
		t.Errorf("plan %s (schema %s): its id is not the hash of its actions, or the table shows another", p.ID, p.Schema)
	}
	out := filepath.Join(t.TempDir(), "plan.csv")
	if _, stderr, code := run(t, "plan", "-c", cfg, "--format", "csv", "--out", out); code != ExitOK {
		t.Fatalf("csv: exit %d: %s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(p.Actions) || strings.Join(rows[0], ",") != strings.Join(report.PlanCSVHeader, ",") || rows[1][0] != p.ID {
		t.Errorf("csv rows %v: want the header and one row per action, each with the plan id", rows)
	}
	if _, stderr, code := run(t, "plan", "-c", cfg, "--format", "yaml"); code != ExitUsage || !strings.Contains(stderr, "use table, json or csv") {
		t.Errorf("--format yaml: exit %d, %s", code, stderr)
	}
}

// TestPlanEmit checks that a plan reaches Kafka only with a matching
// --confirm, against an in-process broker.
func TestPlanEmit(t *testing.T) {
	const topic = "checkout.repairs"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	cfg := caseConfig("dead_letter_order")
	js, _, _ := run(t, "plan", "-c", cfg, "--format", "json")
	var p plan.Plan
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatal(err)
	}

	refusals := []struct {
		name     string
		args     []string
		want     int
		inStderr string
	}{
		{"topic without confirm", []string{"--emit-topic", topic}, ExitUsage, "--emit-topic and --confirm go together"},
		{"confirm without topic", []string{"--confirm", p.ID}, ExitUsage, "--emit-topic and --confirm go together"},
		{"another plan's id", []string{"--emit-topic", topic, "--confirm", "p_0000000000000000"}, ExitUsage, "the plan computed now is " + p.ID},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			args := append([]string{"plan", "-c", cfg, "--brokers", brokers}, r.args...)
			_, stderr, code := run(t, args...)
			if code != r.want || !strings.Contains(stderr, r.inStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, r.want, r.inStderr)
			}
		})
	}

	// The emit command is the one the reviewed table gives.
	table, _, _ := run(t, "plan", "-c", cfg)
	var hint []string
	for _, line := range strings.Split(table, "\n") {
		if strings.Contains(line, "--emit-topic TOPIC") {
			hint = strings.Fields(line)
		}
	}
	if len(hint) < 2 || hint[0] != "vitals" || !strings.Contains(strings.Join(hint, " "), "--config "+cfg) {
		t.Fatalf("the table's emit hint %q does not name the config:\n%s", hint, table)
	}
	args := append([]string{"--brokers", brokers}, hint[1:]...)
	for i, a := range args {
		if a == "TOPIC" {
			args[i] = topic
		}
	}
	_, stderr, code := run(t, args...)
	if code != ExitOK || !strings.Contains(stderr, "sent 1 command(s) of plan "+p.ID) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// The topic holds exactly the confirmed plan: the refusals sent nothing.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	fs := cl.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 {
		t.Fatalf("%d records on the topic, want 1", len(recs))
	}
	var cmd emit.Command
	if err := json.Unmarshal(recs[0].Value, &cmd); err != nil {
		t.Fatal(err)
	}
	a := p.Actions[0]
	if string(recs[0].Key) != a.IdempotencyKey || cmd.PlanID != p.ID || cmd.Action.Action != plan.ReplayDeadLetter {
		t.Errorf("record key %q, command %+v; want key %s, the replay of plan %s", recs[0].Key, cmd, a.IdempotencyKey, p.ID)
	}
}

// TestPlanEmitIncompleteRun: a failed source stops the emit (exit 3).
func TestPlanEmitIncompleteRun(t *testing.T) {
	dir := vitalstest.CopyCase(t, "captured_without_order")
	if err := os.Remove(filepath.Join(dir, "refunds.csv")); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "plan", "-c", filepath.Join(dir, "config.yaml"), "--format", "json")
	var p plan.Plan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil || p.Run.Complete || code != ExitSource {
		t.Fatalf("exit %d (%s), complete %v: want an incomplete plan and exit 3", code, stderr, p.Run.Complete)
	}
	_, stderr, code = run(t, "plan", "-c", filepath.Join(dir, "config.yaml"), "--brokers", "127.0.0.1:1", "--emit-topic", "t", "--confirm", p.ID)
	if code != ExitSource || !strings.Contains(stderr, "nothing was emitted") {
		t.Errorf("exit %d, stderr %q; want exit 3 and nothing emitted", code, stderr)
	}
}

// TestDLQCommand runs vitals dlq on the demo.
func TestDLQCommand(t *testing.T) {
	stdout, stderr, code := run(t, "dlq", "-c", "../../configs/checkout.yaml")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"6 dead letter(s): replay 4, compensate 0, manual 0, resolved 2", "By error class", "java.util.concurrent.TimeoutException"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	js, _, code := run(t, "dlq", "-c", "../../configs/checkout.yaml", "--format", "json")
	var tr dlq.Triaged
	if err := json.Unmarshal([]byte(js), &tr); err != nil || code != ExitOK || tr.Schema != dlq.Schema || len(tr.Letters) != 6 {
		t.Errorf("exit %d, %d letters, schema %q: %v", code, len(tr.Letters), tr.Schema, err)
	}
	if _, stderr, code := run(t, "dlq", "-c", "../../configs/checkout.yaml", "--format", "markdown"); code != ExitUsage || !strings.Contains(stderr, "use table or json") {
		t.Errorf("--format markdown: exit %d, %s", code, stderr)
	}
}

// TestRerunCommand: the emit hint repeats the flags that shape the plan
// (not --format, --out or profiling), and when as_of is now it pins the
// reviewed window but not as_of, so the emitting run reads everything up to
// the moment it emits.
func TestRerunCommand(t *testing.T) {
	since := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	until := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		args    []string
		cfgAsOf string
		want    string
	}{
		{nil, "2026-11-20T12:00:00Z", "vitals plan"},
		{[]string{"-c", "my config.yaml", "--format", "json", "--since", "72h", "--out", "p.json"}, "2026-11-20T12:00:00Z", "vitals plan --config 'my config.yaml' --since 72h"},
		{[]string{"--data-dir", "/exports/2026-11-26"}, "now", "vitals plan --data-dir /exports/2026-11-26 --since 2026-11-24T03:00:00Z --until 2026-11-26T03:00:00Z"},
		{[]string{"--as-of", "now", "--strict", "--since", "48h"}, "", "vitals plan --strict=true --since 2026-11-24T03:00:00Z --until 2026-11-26T03:00:00Z"},
		{[]string{"--as-of", ""}, "2026-11-20T12:00:00Z", "vitals plan --since 2026-11-24T03:00:00Z --until 2026-11-26T03:00:00Z"},
		{[]string{"--as-of", "2026-11-25T00:00:00Z", "--brokers", "kafka-1:9092"}, "now", "vitals plan --as-of 2026-11-25T00:00:00Z --brokers kafka-1:9092"},
	} {
		cmd := newPlanCmd(io.Discard, io.Discard)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := rerunCommand(cmd.Flags(), tc.cfgAsOf, since, until); got != tc.want {
			t.Errorf("%q (config as_of %q): %q, want %q", tc.args, tc.cfgAsOf, got, tc.want)
		}
	}
}
