package plan_test

import (
	"encoding/json"
	"testing"

	"github.com/spf13/pflag"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/plan"
	"github.com/vitals-dev/vitals/reconcile"
)

// buildAsOf plans a case judged at another instant.
func buildAsOf(t *testing.T, path, asOf string) *plan.Plan {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("as-of", "", "")
	if err := fs.Set("as-of", asOf); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, fs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AsOf != asOf {
		t.Fatalf("as_of %q, want %q", cfg.AsOf, asOf)
	}
	_, p := buildFrom(t, cfg, "plan/"+path, reconcile.Options{})
	return p
}

// TestIdempotencyKeysAreStable: the same action gets the same key on a
// later run, and keys depend on process, root, action and target only.
func TestIdempotencyKeysAreStable(t *testing.T) {
	const cfg = "testdata/cases/cancelled_after_invoice/config.yaml"
	noon := buildAsOf(t, cfg, "2026-11-20T12:00:00Z")
	evening := buildAsOf(t, cfg, "2026-11-20T18:30:00Z")
	if noon.Run.AsOf == evening.Run.AsOf {
		t.Fatal("both runs have the same as_of")
	}
	if len(noon.Actions) != 4 || len(evening.Actions) != 4 {
		t.Fatalf("%d and %d actions, want 4 in both", len(noon.Actions), len(evening.Actions))
	}
	seen := map[string]bool{}
	for i, a := range noon.Actions {
		if b := evening.Actions[i]; a.IdempotencyKey != b.IdempotencyKey {
			t.Errorf("%s %s: key %s at noon, %s in the evening", a.Action, a.Target, a.IdempotencyKey, b.IdempotencyKey)
		}
		if want := plan.IdempotencyKey(a.Process, a.Root, a.Action, a.Target); a.IdempotencyKey != want {
			t.Errorf("%s %s: key %s, want %s from process, root, action and target", a.Action, a.Target, a.IdempotencyKey, want)
		}
		if seen[a.IdempotencyKey] {
			t.Errorf("key %s used twice", a.IdempotencyKey)
		}
		seen[a.IdempotencyKey] = true
	}
	// Any part changed, another key.
	base := plan.IdempotencyKey("checkout", "ORD-1", plan.RefundPayment, plan.Target{Type: "charge_id", ID: "ch_1"})
	for _, k := range []string{
		plan.IdempotencyKey("payout", "ORD-1", plan.RefundPayment, plan.Target{Type: "charge_id", ID: "ch_1"}),
		plan.IdempotencyKey("checkout", "ORD-2", plan.RefundPayment, plan.Target{Type: "charge_id", ID: "ch_1"}),
		plan.IdempotencyKey("checkout", "ORD-1", plan.QueryProvider, plan.Target{Type: "charge_id", ID: "ch_1"}),
		plan.IdempotencyKey("checkout", "ORD-1", plan.RefundPayment, plan.Target{Type: "charge_id", ID: "ch_2"}),
		plan.IdempotencyKey("checkout", "ORD-1", plan.RefundPayment, plan.Target{Type: "refund_id", ID: "ch_1"}),
	} {
		if k == base {
			t.Errorf("key %s does not change with its inputs", k)
		}
	}
	// Every key of the demo plan is distinct.
	_, demo := build(t, "../configs/checkout.yaml", "configs/checkout.yaml", reconcile.Options{})
	keys := map[string]bool{}
	for _, a := range demo.Actions {
		if keys[a.IdempotencyKey] {
			t.Errorf("demo: key %s used twice", a.IdempotencyKey)
		}
		keys[a.IdempotencyKey] = true
	}
}

// TestPlanIDIsTheHashOfTheActions: the id changes with any action and with
// nothing else.
func TestPlanIDIsTheHashOfTheActions(t *testing.T) {
	const cfg = "testdata/cases/cancelled_after_invoice/config.yaml"
	noon := buildAsOf(t, cfg, "2026-11-20T12:00:00Z")
	evening := buildAsOf(t, cfg, "2026-11-20T18:30:00Z")
	if noon.ID != plan.ID(noon.Actions) {
		t.Errorf("id %s, the hash of the actions is %s", noon.ID, plan.ID(noon.Actions))
	}
	if noon.ID != evening.ID {
		t.Errorf("same actions, different ids: %s at noon, %s in the evening", noon.ID, evening.ID)
	}
	// Through JSON and back, the same id.
	b, err := json.Marshal(noon.Actions)
	if err != nil {
		t.Fatal(err)
	}
	var back []plan.Action
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if plan.ID(back) != noon.ID {
		t.Errorf("the id of the decoded actions is %s, want %s", plan.ID(back), noon.ID)
	}
	changed := append([]plan.Action(nil), noon.Actions...)
	n := *changed[2].Amount + 1
	changed[2].Amount = &n
	if plan.ID(changed) == noon.ID {
		t.Error("a refund one cent larger has the same plan id")
	}
	if plan.ID(noon.Actions[:3]) == noon.ID {
		t.Error("a plan without its last action has the same id")
	}
}
