package emit_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/internal/vitalstest"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vitals-dev/vitals/emit"
	"github.com/vitals-dev/vitals/plan"
	"github.com/vitals-dev/vitals/reconcile"
)

const topic = "checkout.repairs"

// broker starts an in-process Kafka broker with the topic.
func broker(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func buildPlan(t *testing.T, path string) *plan.Plan {
	t.Helper()
	res := vitalstest.Run(t, path, reconcile.Options{})
	p, err := plan.Build(context.Background(), res, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const cancelled = "../plan/testdata/cases/cancelled_after_invoice/config.yaml"

// consume reads n records from the start of the topic.
func consume(t *testing.T, addrs []string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("got %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// assertEmpty proves nothing was written: a marker produced now is the
// first record of the topic.
func assertEmpty(t *testing.T, addrs []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("marker")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if got := consume(t, addrs, 1); string(got[0].Key) != "marker" {
		t.Errorf("the topic's first record has key %q: something was emitted", got[0].Key)
	}
}

func send(t *testing.T, addrs []string, p *plan.Plan, confirm string) (int, error) {
	t.Helper()
	w := emit.NewKafkaWriter(addrs, topic)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return emit.Send(ctx, w, p, confirm)
}

func TestRefusedWithoutConfirm(t *testing.T) {
	addrs := broker(t)
	p := buildPlan(t, cancelled)
	n, err := send(t, addrs, p, "")
	var re *emit.RefusedError
	if !errors.As(err, &re) || n != 0 {
		t.Fatalf("sent %d, err %v; want a refusal", n, err)
	}
	assertEmpty(t, addrs)
}

func TestRefusedWhenThePlanChanged(t *testing.T) {
	addrs := broker(t)
	p := buildPlan(t, cancelled)
	reviewed := buildPlan(t, "../plan/testdata/cases/triple_capture/config.yaml")
	n, err := send(t, addrs, p, reviewed.ID)
	var re *emit.RefusedError
	if !errors.As(err, &re) || n != 0 {
		t.Fatalf("sent %d, err %v; want a refusal: the confirmed id is another plan's", n, err)
	}
	assertEmpty(t, addrs)
}

func TestRefusedWhenASourceFailed(t *testing.T) {
	addrs := broker(t)
	dir := t.TempDir()
	src := filepath.Dir(cancelled)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "refunds.csv" || filepath.Ext(e.Name()) == ".json" || filepath.Ext(e.Name()) == ".txt" {
			continue // the provider's refunds export is missing
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "config.yaml" {
			abs, _ := filepath.Abs("../configs/checkout.yaml")
			b = []byte("extends: " + abs + "\ndata_dir: .\n")
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := buildPlan(t, filepath.Join(dir, "config.yaml"))
	if p.Run.Complete {
		t.Fatal("the run is complete although refunds.csv is missing")
	}
	n, err := send(t, addrs, p, p.ID)
	var re *emit.RefusedError
	if !errors.As(err, &re) || n != 0 {
		t.Fatalf("sent %d, err %v; want a refusal: the run is incomplete", n, err)
	}
	assertEmpty(t, addrs)
}

// cancelledWithRefund copies the cancelled_after_invoice case to a
// temporary folder with one more row in the provider's refunds export.
func cancelledWithRefund(t *testing.T, row string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Dir(cancelled)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "plan.") {
			continue // the expected plans
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		switch e.Name() {
		case "config.yaml":
			abs, _ := filepath.Abs("../configs/checkout.yaml")
			b = []byte("extends: " + abs + "\ndata_dir: .\n")
		case "refunds.csv":
			b = append(b, row+"\n"...)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "config.yaml")
}

// TestRefusedWithBadInput: input that could not be read may be a refund
// already made. Here the provider's refund of the charge has an amount that
// does not parse, so the plan refunds the charge again; it must not be
// emitted, even when confirmed.
func TestRefusedWithBadInput(t *testing.T) {
	addrs := broker(t)
	p := buildPlan(t, cancelledWithRefund(t, "re_3005,ch_3005,60.00 EUR,eur,succeeded,requested_by_customer,2026-11-20 09:40:00"))
	if p.Run.BadInput != 1 {
		t.Fatalf("the plan counts %d bad input(s), want 1: the refund row", p.Run.BadInput)
	}
	n, err := send(t, addrs, p, p.ID)
	var re *emit.RefusedError
	if !errors.As(err, &re) || n != 0 {
		t.Fatalf("sent %d, err %v; want a refusal: a refund row could not be read", n, err)
	}
	assertEmpty(t, addrs)
}

// TestRefusedWithEvidenceAfterAsOf: the plan is as of 12:00, but the
// provider's export already shows the charge refunded at 12:30. As of
// 12:00 the refund is due, and the plan says so; sending it now would pay
// the money back twice.
func TestRefusedWithEvidenceAfterAsOf(t *testing.T) {
	addrs := broker(t)
	p := buildPlan(t, cancelledWithRefund(t, "re_3005,ch_3005,60.00,eur,succeeded,requested_by_customer,2026-11-20 12:30:00"))
	if p.Run.AfterAsOf != 1 {
		t.Fatalf("the plan counts %d record(s) after as_of, want 1: the refund", p.Run.AfterAsOf)
	}
	n, err := send(t, addrs, p, p.ID)
	var re *emit.RefusedError
	if !errors.As(err, &re) || n != 0 {
		t.Fatalf("sent %d, err %v; want a refusal: the evidence is newer than the plan", n, err)
	}
	assertEmpty(t, addrs)
}

func TestSentWhenConfirmed(t *testing.T) {
	addrs := broker(t)
	p := buildPlan(t, cancelled)
	if len(p.Actions) != 4 {
		t.Fatalf("%d actions, want 4", len(p.Actions))
	}
	n, err := send(t, addrs, p, p.ID)
	if err != nil || n != len(p.Actions) {
		t.Fatalf("sent %d of %d: %v", n, len(p.Actions), err)
	}
	got := consume(t, addrs, n)
	for i, r := range got {
		a := p.Actions[i]
		if string(r.Key) != a.IdempotencyKey {
			t.Errorf("message %d: key %q, want the idempotency key %q of action %d", i, r.Key, a.IdempotencyKey, a.Seq)
		}
		var c emit.Command
		if err := json.Unmarshal(r.Value, &c); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if c.Schema != emit.Schema || c.PlanID != p.ID || c.Action.Action != a.Action || c.Action.Target != a.Target || c.Action.Seq != a.Seq {
			t.Errorf("message %d: %+v, want action %d (%s %s) of plan %s", i, c, a.Seq, a.Action, a.Target, p.ID)
		}
		headers := map[string]string{}
		for _, h := range r.Headers {
			headers[h.Key] = string(h.Value)
		}
		if headers["vitals-plan-id"] != p.ID || headers["vitals-action"] != a.Action {
			t.Errorf("message %d: headers %v", i, headers)
		}
	}
	// Emitting the same plan again sends the same keys: consumers that
	// dedupe by key act once.
	if n2, err := send(t, addrs, p, p.ID); err != nil || n2 != n {
		t.Fatalf("second send: %d, %v", n2, err)
	}
	again := consume(t, addrs, 2*n)
	for i := 0; i < n; i++ {
		if string(again[n+i].Key) != string(again[i].Key) {
			t.Errorf("second send, message %d: key %q, first send had %q", i, again[n+i].Key, again[i].Key)
		}
	}
}
