package plan_test

import (
	"slices"
	"testing"

	"github.com/vitals-dev/vitals/plan"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

func ownCase(t *testing.T, name string) (*reconcile.Result, *plan.Plan) {
	t.Helper()
	return build(t, "testdata/cases/"+name+"/config.yaml", "plan/testdata/cases/"+name+"/config.yaml", reconcile.Options{})
}

func fixtureCase(t *testing.T, name string) (*reconcile.Result, *plan.Plan) {
	t.Helper()
	return build(t, "../fixtures/cases/"+name+"/config.yaml", "fixtures/cases/"+name+"/config.yaml", reconcile.Options{})
}

func actionsFor(p *plan.Plan, root string) []plan.Action {
	var out []plan.Action
	for _, a := range p.Actions {
		if a.Root == root {
			out = append(out, a)
		}
	}
	return out
}

func kinds(as []plan.Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Action)
	}
	return out
}

func of(as []plan.Action, action string) []plan.Action {
	var out []plan.Action
	for _, a := range as {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func amount(a plan.Action) int64 {
	if a.Amount == nil {
		return 0
	}
	return *a.Amount
}

// moneyOf reads, straight from the records of one instance, what each
// charge captured and what went back or is on its way back (refunds done
// or pending, in the charge's currency), by charge ("" for refunds that
// name none).
func moneyOf(t *testing.T, res *reconcile.Result, root string) (captured, back map[string]int64) {
	t.Helper()
	found, err := res.Find("order_id:" + root)
	if err != nil || len(found) != 1 {
		t.Fatalf("find %s: %v (%d instances)", root, err, len(found))
	}
	captured, back = map[string]int64{}, map[string]int64{}
	currency := map[string]string{}
	type refund struct {
		charge, currency string
		amount           int64
	}
	var refunds []refund
	seenRefund := map[string]bool{}
	var r record.Record
	for _, id := range found[0].Records {
		res.Store.Get(id, &r)
		charge, _ := r.Key("charge_id")
		switch {
		case r.Kind == "charge" && r.Status == "succeeded":
			captured[charge], currency[charge] = r.Amount, r.Currency
		case r.Kind == "refund" && (r.Status == "succeeded" || r.Status == "pending"):
			rid, _ := r.Key("refund_id")
			if !seenRefund[rid] {
				seenRefund[rid] = true
				refunds = append(refunds, refund{charge, r.Currency, r.Amount})
			}
		}
	}
	for _, f := range refunds {
		if f.charge == "" || f.currency == currency[f.charge] {
			back[f.charge] += f.amount
		}
	}
	return captured, back
}

// Safety rule 1: never refund more than was captured, per charge and per
// instance, counting refunds already made or pending.
func TestNeverRefundMoreThanCaptured(t *testing.T) {
	t.Run("per charge, counting a partial refund", func(t *testing.T) {
		_, p := ownCase(t, "triple_capture")
		got := map[string]int64{}
		for _, a := range of(p.Actions, plan.RefundPayment) {
			got[a.Target.ID] = amount(a)
		}
		want := map[string]int64{"ch_3001a": 5000, "ch_3001c": 4000} // ch_3001c: 50.00 captured, 10.00 refunded
		if !maps(got, want) {
			t.Errorf("refunds %v, want %v", got, want)
		}
	})
	t.Run("per charge, a refund written as a negative amount", func(t *testing.T) {
		// Counting -50.00 as back would leave 100.00 of 50.00 to refund.
		_, p := ownCase(t, "negative_refund")
		got := map[string]int64{}
		for _, a := range of(p.Actions, plan.RefundPayment) {
			got[a.Target.ID] += amount(a)
		}
		if want := map[string]int64{"ch_3001a": 5000}; !maps(got, want) {
			t.Errorf("refunds %v, want %v: what went back on ch_3001c is not known", got, want)
		}
		if k := kinds(p.Actions); !slices.Contains(k, plan.ManualReview) {
			t.Errorf("actions %v, want a manual_review of ch_3001c", k)
		}
	})
	t.Run("per charge, counting two refunds that share the charge's payment intent", func(t *testing.T) {
		_, p := ownCase(t, "refunds_share_payment_intent")
		got := map[string]int64{}
		for _, a := range of(p.Actions, plan.RefundPayment) {
			got[a.Target.ID] += amount(a)
		}
		want := map[string]int64{"ch_3010a": 5000, "ch_3010b": 1000} // ch_3010b: 50.00 captured, 10.00 + 30.00 refunded
		if !maps(got, want) {
			t.Errorf("refunds %v, want %v", got, want)
		}
	})
	t.Run("per charge, a refund two sources report with different amounts", func(t *testing.T) {
		_, p := ownCase(t, "refund_reported_by_two_sources")
		got := map[string]int64{}
		for _, a := range of(p.Actions, plan.RefundPayment) {
			got[a.Target.ID] += amount(a)
		}
		// re_3024c: 20.00 EUR says the shop, 30.00 the provider.
		if want := map[string]int64{"ch_3024a": 5000}; !maps(got, want) {
			t.Errorf("refunds %v, want %v: what went back on ch_3024c is not known", got, want)
		}
		if k := kinds(p.Actions); !slices.Contains(k, plan.ManualReview) {
			t.Errorf("actions %v, want a manual_review of ch_3024c", k)
		}
	})
	t.Run("per instance, counting a refund that names no charge", func(t *testing.T) {
		_, p := ownCase(t, "refund_names_no_charge")
		refunds := of(p.Actions, plan.RefundPayment)
		if len(refunds) != 1 || refunds[0].Target.ID != "ch_3008b" || amount(refunds[0]) != 2500 {
			t.Fatalf("refunds %+v, want one of 25.00 EUR on ch_3008b (40.00 extra, 15.00 already back for the order)", refunds)
		}
	})
	t.Run("per charge, counting a refund in a status the process does not classify", func(t *testing.T) {
		_, p := ownCase(t, "refund_status_unclassified")
		if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ManualReview}) {
			t.Fatalf("actions %v, want only manual_review: a refund in status requires_action may still pay out", got)
		}
	})
	t.Run("per instance, a refund that names no charge in another currency is not ignored", func(t *testing.T) {
		_, p := ownCase(t, "unnamed_refund_other_currency")
		if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ManualReview}) {
			t.Fatalf("actions %v, want only manual_review: 15.00 USD went back for EUR charges, and cannot be counted", got)
		}
	})
	t.Run("per instance, a charge the provider does not show makes no room for a refund", func(t *testing.T) {
		_, p := ownCase(t, "unconfirmed_charge_and_unnamed_refund")
		// Captured (as the provider shows it) 80.00, kept 40.00, and 40.00
		// already back for the order: nothing is left to refund.
		if refunds := of(p.Actions, plan.RefundPayment); len(refunds) != 0 {
			t.Errorf("refunds %+v, want none: the 40.00 EUR refund that names no charge already covers the extra capture", refunds)
		}
		if got := kinds(p.Actions); !slices.Contains(got, plan.ManualReview) {
			t.Errorf("actions %v, want a manual_review of the charge only events report", got)
		}
	})
	t.Run("per instance, a charge with more back than it captured stops every refund", func(t *testing.T) {
		_, p := ownCase(t, "refunds_exceed_a_charge")
		if refunds := of(actionsFor(p, "ORD-3019"), plan.RefundPayment); len(refunds) != 0 {
			t.Errorf("ORD-3019: refunds %+v, want none: ch_3019c shows 80.00 back of 50.00, so what went back cannot be counted", refunds)
		}
		if got := kinds(actionsFor(p, "ORD-3019")); !slices.Contains(got, plan.ManualReview) {
			t.Errorf("ORD-3019: actions %v, want a manual_review", got)
		}
		// The other instance is planned as usual.
		if refunds := of(actionsFor(p, "ORD-3020"), plan.RefundPayment); len(refunds) != 1 || amount(refunds[0]) != 2000 {
			t.Errorf("ORD-3020: refunds %+v, want one of 20.00 EUR", refunds)
		}
	})
	t.Run("per charge, a pending refund in another currency is not summed with the charge's", func(t *testing.T) {
		_, p := ownCase(t, "pending_refund_other_currency")
		refunds := of(p.Actions, plan.RefundPayment)
		if len(refunds) != 1 || refunds[0].Target.ID != "ch_3021a" || amount(refunds[0]) != 5000 {
			t.Errorf("refunds %+v, want one of 50.00 EUR on ch_3021a", refunds)
		}
		if got := kinds(p.Actions); !slices.Contains(got, plan.ManualReview) {
			t.Errorf("actions %v, want a manual_review of ch_3021b", got)
		}
	})
	t.Run("per instance, a pending refund that names no charge stops every refund", func(t *testing.T) {
		_, p := ownCase(t, "refund_request_names_no_charge")
		if got := kinds(p.Actions); !slices.Equal(got, []string{plan.QueryProvider}) {
			t.Fatalf("actions %v, want only query_provider", got)
		}
		if q := p.Actions[0]; q.Target != (plan.Target{Type: "event_id", ID: "e3003-6"}) {
			t.Errorf("query target %v, want the pending request event_id e3003-6", q.Target)
		}
	})
	// Every refund of every plan, checked against the records themselves.
	t.Run("every case", func(t *testing.T) {
		for _, c := range goldenCases(t) {
			res, p := build(t, c.config, c.shown, reconcile.Options{})
			roots := map[string]bool{}
			for _, a := range of(p.Actions, plan.RefundPayment) {
				roots[a.Root] = true
			}
			for root := range roots {
				captured, back := moneyOf(t, res, root)
				planned := map[string]int64{}
				var capTotal, backTotal int64
				for _, a := range of(actionsFor(p, root), plan.RefundPayment) {
					planned[a.Target.ID] += amount(a)
					backTotal += amount(a)
					if _, ok := captured[a.Target.ID]; !ok {
						t.Errorf("%s %s: refund of %s, which the provider does not show captured", c.name, root, a.Target.ID)
					}
				}
				for ch, n := range planned {
					if n+back[ch] > captured[ch] {
						t.Errorf("%s %s: %s would get back %d + %d of %d captured", c.name, root, ch, n, back[ch], captured[ch])
					}
				}
				for _, n := range captured {
					capTotal += n
				}
				for _, n := range back {
					backTotal += n
				}
				if backTotal > capTotal {
					t.Errorf("%s %s: %d would go back in all, of %d captured", c.name, root, backTotal, capTotal)
				}
			}
		}
	})
}

func maps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Safety rule 2: never compensate a step that did not succeed.
func TestNeverCompensateAStepThatDidNotSucceed(t *testing.T) {
	t.Run("a declined charge is not refunded", func(t *testing.T) {
		_, p := ownCase(t, "capture_failed")
		if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ReleaseStock}) {
			t.Fatalf("actions %v, want only release_stock: the charge was declined", got)
		}
	})
	t.Run("an attempt the sources disagree on, with no authority, is not refunded", func(t *testing.T) {
		_, p := ownCase(t, "conflicting_attempt_no_authority")
		var targets []string
		for _, a := range of(p.Actions, plan.RefundPayment) {
			targets = append(targets, a.Target.ID)
		}
		if !slices.Equal(targets, []string{"ch_3017b"}) {
			t.Errorf("refunds %v, want only ch_3017b: the provider declined ch_3017a, an event says captured, and nothing decides", targets)
		}
		if got := kinds(p.Actions); !slices.Contains(got, plan.ManualReview) {
			t.Errorf("actions %v, want a manual_review of ch_3017a", got)
		}
	})
	t.Run("an order never created is not marked failed", func(t *testing.T) {
		_, p := fixtureCase(t, "captured_without_order")
		if got := kinds(p.Actions); !slices.Equal(got, []string{plan.RefundPayment}) {
			t.Fatalf("actions %v, want only refund_payment", got)
		}
	})
	t.Run("every case", func(t *testing.T) {
		compensations := []string{plan.RefundPayment, plan.ReleaseStock, plan.MarkOrderFailed, plan.VoidInvoice}
		n := 0
		for _, c := range goldenCases(t) {
			res, p := build(t, c.config, c.shown, reconcile.Options{})
			for _, a := range p.Actions {
				if !slices.Contains(compensations, a.Action) {
					continue
				}
				n++
				found, err := res.Find("order_id:" + a.Root)
				if err != nil || len(found) != 1 {
					t.Fatalf("find %s: %v", a.Root, err)
				}
				if s := found[0].Step(a.Step); s == nil || s.Effective != saga.Succeeded {
					t.Errorf("%s: %s %s undoes %s, which did not succeed", c.name, a.Action, a.Target, a.Step)
				}
			}
		}
		if n < 10 {
			t.Errorf("only %d compensations over all cases: the check proves little", n)
		}
	})
}

// Safety rule 3: for a double capture, refund only the extra charge(s) and
// keep the one the order refers to.
func TestDoubleCaptureRefundsOnlyTheExtra(t *testing.T) {
	t.Run("the order names its charge", func(t *testing.T) {
		_, p := ownCase(t, "triple_capture")
		var targets []string
		for _, a := range of(p.Actions, plan.RefundPayment) {
			targets = append(targets, a.Target.ID)
		}
		if !slices.Equal(targets, []string{"ch_3001a", "ch_3001c"}) {
			t.Errorf("refunds %v, want ch_3001a and ch_3001c; ch_3001b is the one OrderCreated names", targets)
		}
	})
	// The order refers to a charge, but not to one the provider shows
	// captured: which charge it keeps is unknown, so neither is refunded.
	for _, tc := range []struct{ name, dir string }{
		{"the order names a charge only an event reports", "double_capture_order_names_unconfirmed_charge"},
		{"the order names a charge that is none of them", "double_capture_order_names_another_charge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p := ownCase(t, tc.dir)
			if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ManualReview}) {
				t.Fatalf("actions %v, want only manual_review: refunding either charge may leave the order with none", got)
			}
		})
	}
	t.Run("the charge the order keeps has a refund that cannot be counted", func(t *testing.T) {
		_, p := ownCase(t, "double_capture_kept_charge_refund_uncounted")
		if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ManualReview}) {
			t.Fatalf("actions %v, want only manual_review: ch_3022b, the kept charge, may be refunded (requires_action)", got)
		}
	})
	t.Run("the order is still to be created by a replay: no charge is refunded yet", func(t *testing.T) {
		_, p := ownCase(t, "double_capture_order_replayed")
		if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ReplayDeadLetter, plan.ManualReview}) {
			t.Fatalf("actions %v, want replay_dead_letter and manual_review: the replayed PaymentCaptured names ch_3023b, so the order will keep it", got)
		}
	})
	t.Run("the order names none and the attempts tie: a person decides", func(t *testing.T) {
		_, p := ownCase(t, "double_capture_same_moment")
		if refunds := of(p.Actions, plan.RefundPayment); len(refunds) != 0 {
			t.Errorf("refunds %v: which charge to keep would be the export's row order", refunds)
		}
		if !slices.Contains(kinds(p.Actions), plan.ManualReview) {
			t.Errorf("actions %v, want manual_review", kinds(p.Actions))
		}
	})
	t.Run("the order names none: the first attempt's charge is kept", func(t *testing.T) {
		res, p := fixtureCase(t, "double_capture")
		refunds := of(p.Actions, plan.RefundPayment)
		if len(refunds) != 1 {
			t.Fatalf("%d refunds, want exactly 1 of 2 charges", len(refunds))
		}
		found, _ := res.Find("idempotency_key:idem_ORD-2131_1")
		kept := ""
		var r record.Record
		for _, id := range found[0].Records {
			res.Store.Get(id, &r)
			if k, _ := r.Key("idempotency_key"); r.Kind == "charge" && k == "idem_ORD-2131_1" {
				kept, _ = r.Key("charge_id")
			}
		}
		if kept == "" || refunds[0].Target.ID == kept {
			t.Errorf("refunds %s, the charge of the first attempt (%s); it must refund the other", refunds[0].Target.ID, kept)
		}
	})
}

// Safety rule 4: an unknown outcome gets query_provider and manual_review,
// never a blind refund or retry.
func TestUnknownOutcomeIsQueriedNeverActedOn(t *testing.T) {
	n := 0
	for _, c := range goldenCases(t) {
		res, p := build(t, c.config, c.shown, reconcile.Options{})
		err := res.Each(t.Context(), func(in *saga.Instance) error {
			unknown := false
			for _, f := range in.Findings {
				unknown = unknown || f.Code == saga.OutcomeUnknown
			}
			if !unknown {
				return nil
			}
			n++
			got := kinds(actionsFor(p, in.Root))
			if !slices.Contains(got, plan.QueryProvider) || !slices.Contains(got, plan.ManualReview) {
				t.Errorf("%s %s: actions %v, want query_provider and manual_review", c.name, in.Root, got)
			}
			for _, k := range got {
				if k != plan.QueryProvider && k != plan.ManualReview {
					t.Errorf("%s %s: %s planned while an outcome is unknown", c.name, in.Root, k)
				}
			}
			for _, a := range of(actionsFor(p, in.Root), plan.QueryProvider) {
				if a.Target.Type != "idempotency_key" {
					t.Errorf("%s %s: query about %s, want the attempt's idempotency key", c.name, in.Root, a.Target)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 4 {
		t.Errorf("only %d instances with unknown outcomes over all cases", n)
	}
}

// Safety rule 5: a refund already pending produces no second refund.
func TestPendingRefundGetsNoSecondRefund(t *testing.T) {
	for _, tc := range []struct{ name, config string }{
		{"stalled compensation", "../fixtures/cases/compensation_stalled/config.yaml"},
		{"extra charge of a double capture", "testdata/cases/double_capture_pending_refund/config.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, p := build(t, tc.config, tc.config, reconcile.Options{})
			// The pending refund, as the provider's export has it.
			var pending []plan.Target
			var r record.Record
			for id := 0; id < res.Store.Len(); id++ {
				res.Store.Get(record.ID(id), &r)
				if r.Kind == "refund" && r.Status == "pending" {
					rid, _ := r.Key("refund_id")
					pending = append(pending, plan.Target{Type: "refund_id", ID: rid})
				}
			}
			if len(pending) != 1 {
				t.Fatalf("%d pending refunds in the data, want 1", len(pending))
			}
			if got := kinds(p.Actions); !slices.Equal(got, []string{plan.QueryProvider}) {
				t.Fatalf("actions %v, want only query_provider", got)
			}
			if p.Actions[0].Target != pending[0] {
				t.Errorf("query about %v, want the pending refund %v", p.Actions[0].Target, pending[0])
			}
		})
	}
}

// A dead letter is replayed only when its effect is missing: not when a
// later step went ahead, which says the effect may have happened some
// other way.
func TestNoReplayWhenALaterStepWentAhead(t *testing.T) {
	_, p := ownCase(t, "dead_letter_later_step_succeeded")
	if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ManualReview}) {
		t.Fatalf("actions %v, want only manual_review: generate_invoice and notify succeeded after the dead-lettered create_order", got)
	}
}

// Two dead-lettered messages of one step are never both replayed: the
// instance is held for a person (and so is the refund of the extra
// charge, which depends on which message creates the order).
func TestNoTwoReplaysOfOneStep(t *testing.T) {
	_, p := ownCase(t, "dead_letters_two_captures")
	if got := kinds(p.Actions); !slices.Equal(got, []string{plan.ManualReview}) {
		t.Fatalf("actions %v, want only manual_review: two PaymentCaptured events of create_order were dead-lettered", got)
	}
}

// A partial, zero or other-currency refund does not undo a capture: the
// instance gets its finding, and the plan refunds what is left, or sends a
// person when what went back cannot be counted.
func TestPartialRefundDoesNotUndoACapture(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refund map[string]int64 // refund_payment actions by charge
		manual bool
	}{
		{"partial_refund_after_reject", map[string]int64{"ch_3Q8rLBckpuCCP1yYGytjBySt": 5007}, false},
		{"zero_refund_after_reject", map[string]int64{}, true},
		{"other_currency_refund_after_reject", map[string]int64{}, true},
		{"double_capture_partial_refund", map[string]int64{"ch_3Q9KvKBw070thD6cY5qpwI1I": 38238}, false},
		{"dead_letter_partly_undone", map[string]int64{"ch_3006": 1500}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p := ownCase(t, tc.name)
			if p.Summary.Findings == 0 {
				t.Fatal("no finding: the capture counts as undone")
			}
			got := map[string]int64{}
			for _, a := range of(p.Actions, plan.RefundPayment) {
				got[a.Target.ID] += amount(a)
			}
			if !maps(got, tc.refund) {
				t.Errorf("refunds %v, want %v", got, tc.refund)
			}
			if m := slices.Contains(kinds(p.Actions), plan.ManualReview); m != tc.manual {
				t.Errorf("manual_review %v, want %v (actions %v)", m, tc.manual, kinds(p.Actions))
			}
		})
	}
}

// A refund on its way is not back yet: the rest pending gets a finding
// and a query to the provider, never a second refund; a refund row without
// an id cannot be told apart from a second report of another, so it is
// not counted and a person looks — neither refunds anything.
func TestRefundNotYetCountedIsNotRefundedAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string
	}{
		{"refund_rest_pending", plan.QueryProvider},
		{"refund_without_id", plan.ManualReview},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p := ownCase(t, tc.name)
			if refunds := of(p.Actions, plan.RefundPayment); len(refunds) != 0 {
				t.Errorf("refunds %v: the money is back or on its way", refunds)
			}
			if k := kinds(p.Actions); !slices.Contains(k, tc.want) {
				t.Errorf("actions %v, want %s", k, tc.want)
			}
		})
	}
}
