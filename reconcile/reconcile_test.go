package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/internal/vitalstest"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
	"github.com/vitals-dev/vitals/sources"
)

func runDir(t *testing.T, dir string) (*reconcile.Result, []*saga.Instance) {
	t.Helper()
	res := vitalstest.Run(t, filepath.Join(dir, "config.yaml"), reconcile.Options{})
	var out []*saga.Instance
	if err := res.Each(context.Background(), func(i *saga.Instance) error { out = append(out, i); return nil }); err != nil {
		t.Fatal(err)
	}
	return res, out
}

// appendLines adds lines to a file of a copied case.
func appendLines(t *testing.T, dir, name string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedSourceIsNotAbsence: the order was never created (STEP_OVERDUE)
// — unless the source that could have shown its failure did not finish
// reading: then nothing is claimed missing, and the step stays pending
// with the reason.
func TestFailedSourceIsNotAbsence(t *testing.T) {
	dir := vitalstest.CopyCase(t, "stuck_after_capture")
	res, ins := runDir(t, dir)
	if !res.Complete || len(ins) != 1 || ins[0].Step("create_order").State != saga.Overdue || len(ins[0].Findings) != 1 {
		t.Fatalf("intact case: complete %v, create_order %v, findings %d", res.Complete, ins[0].Step("create_order").State, len(ins[0].Findings))
	}
	os.Remove(filepath.Join(dir, "dead_letters.jsonl"))
	res, ins = runDir(t, dir)
	if res.Complete || res.Failed() == nil {
		t.Fatal("a missing file must make the run incomplete")
	}
	st := ins[0].Step("create_order")
	if st.State != saga.Requested || !strings.Contains(st.Note, "source dlq did not finish reading") {
		t.Errorf("create_order %s (%s): want requested, waiting on the failed dlq source", st.State, st.Note)
	}
	if len(ins[0].Findings) != 0 {
		t.Errorf("findings %v: nothing may be called missing from a failed source", ins[0].Findings[0].Code)
	}
}

// TestCoverageEnd: evidence due after a source's coverage ends is not
// missing. The provider export ends at 11:50; a payment requested at
// 11:40:01 is due at 11:50:01.
func TestCoverageEnd(t *testing.T) {
	_, ins := runDir(t, vitalstest.CopyCase(t, "after_provider_cutoff"))
	st := ins[0].Step("capture_payment")
	if st.State != saga.Requested || !strings.Contains(st.Note, "source provider covers only until 2026-11-20T11:50:00Z") {
		t.Errorf("capture_payment %s (%s)", st.State, st.Note)
	}
}

// TestOrphansAndLinking: records link through any shared linking key,
// never through a search-only key, and what reaches no root is an orphan.
func TestOrphansAndLinking(t *testing.T) {
	dir := vitalstest.CopyCase(t, "clean")
	// A refund of the case's charge links through charge_id alone; a refund
	// of an unknown charge is an orphan; an order of the same customer is a
	// separate instance (customer_id only searches).
	b, _ := os.ReadFile(filepath.Join(dir, "charges.csv"))
	charge := strings.Split(strings.Split(string(b), "\n")[1], ",")[0]
	os.WriteFile(filepath.Join(dir, "refunds.csv"), []byte("id,Charge ID,Amount,Currency,Status,Reason,Created (UTC)\n"+
		"re_1,"+charge+",1.00,eur,succeeded,requested_by_customer,2026-11-20 10:00:00\n"+
		"re_2,ch_unknown,1.00,eur,succeeded,requested_by_customer,2026-11-20 10:00:00\n"), 0o644)
	ob, _ := os.ReadFile(filepath.Join(dir, "orders.csv"))
	lines := strings.Split(strings.TrimSpace(string(ob)), "\n")
	twin := strings.Replace(lines[1], "ORD-2001", "ORD-9999", 1)
	os.WriteFile(filepath.Join(dir, "orders.csv"), []byte(strings.Join(append(lines, twin), "\n")+"\n"), 0o644)

	_, ins := runDir(t, dir)
	var roots []string
	for _, in := range ins {
		roots = append(roots, in.Root)
	}
	if strings.Join(roots, " ") != "ORD-2001 ORD-9999 charge_id:ch_unknown" {
		t.Fatalf("instances %v", roots)
	}
	if !ins[2].Orphan || len(ins[2].Findings) != 1 || ins[2].Findings[0].Code != saga.OrphanRecord || ins[2].Findings[0].Severity != saga.High {
		t.Errorf("orphan refund: %+v", ins[2])
	}
	if n := len(ins[0].CompEvidence["refund_payment"]); n != 1 {
		t.Errorf("ORD-2001 holds %d refunds, want the one linked through its charge", n)
	}
}

// TestFirstStepDue: an instance whose first step never shows is overdue
// once the step's SLA from the instance's start has passed — not silently
// "stalled" — while a younger one is still expected.
func TestFirstStepDue(t *testing.T) {
	dir := t.TempDir()
	cfg, err := os.ReadFile("../config/testdata/valid.yaml") // one step, pay, SLA 10m; as_of 12:00
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.yaml"), cfg, 0o644)
	os.WriteFile(filepath.Join(dir, "orders.csv"), []byte("id,created_at\nO1,2026-11-20T10:00:00Z\nO2,2026-11-20T11:55:00Z\n"), 0o644)
	_, ins := runDir(t, dir)
	if len(ins) != 2 {
		t.Fatalf("%d instances", len(ins))
	}
	if st := ins[0].Steps[0]; st.State != saga.Overdue || len(ins[0].Findings) != 1 || ins[0].Findings[0].Code != saga.StepOverdue {
		t.Errorf("O1: pay %s (%s), findings %d; want overdue with STEP_OVERDUE", st.State, st.Note, len(ins[0].Findings))
	}
	if st := ins[1].Steps[0]; st.State != saga.Requested || len(ins[1].Findings) != 0 {
		t.Errorf("O2 started 11:55, due 12:05, as of 12:00: pay %s, %d findings; want requested, none", st.State, len(ins[1].Findings))
	}
}

// TestRejectedRecordLeavesNoKey: a row whose later key is too long is bad
// input, and the keys before it must not be left behind: a root value no
// stored record carries once made correlation index past its components.
func TestRejectedRecordLeavesNoKey(t *testing.T) {
	dir := vitalstest.CopyCase(t, "clean")
	// Keys are stored in type order: order_id before payment_intent.
	appendLines(t, dir, "charges.csv", "ch_x,Order ORD-7777,2026-11-20 09:00:03,98.60,0.00,eur,true,Paid,ok,e@x.com,pi_"+strings.Repeat("a", 70000)+",3387,ORD-7777,idem_7777")
	res, ins := runDir(t, dir)
	for _, in := range ins {
		if in.Root == "ORD-7777" {
			t.Errorf("instance ORD-7777 exists, but its only record was rejected")
		}
	}
	var provider reconcile.SourceReport
	for _, s := range res.Sources {
		if s.Name == "provider" {
			provider = s
		}
	}
	if provider.Bad != 1 || len(provider.BadList) != 1 || provider.BadList[0].At.String() != "provider:charges.csv:3" || !strings.Contains(provider.BadList[0].Error, "payment_intent") {
		t.Errorf("provider bad input %d %+v: want the long key reported at charges.csv:3", provider.Bad, provider.BadList)
	}
	if _, ok := res.Store.LookupKey(res.Store.KeyTypeIndex("order_id"), "ORD-7777"); ok {
		t.Error("the rejected record's order_id was kept")
	}
}

// twoBadSource reports two bad inputs at one location, in the order given:
// two mappings of one file failing on the same row, read at once.
type twoBadSource struct{ errs []string }

func (s twoBadSource) Read(_ context.Context, w sources.Window, sink sources.Sink) (sources.Coverage, error) {
	wr := sink.Writer()
	defer wr.Close()
	for _, e := range s.errs {
		wr.Bad(record.Provenance{Source: "twice", Loc: "orders.csv", Pos: 3}, errors.New(e))
	}
	return sources.Coverage{Until: w.Until, Complete: true}, nil
}

// TestBadInputOrder: bad inputs at one location are listed in one order
// whatever order the source's readers reported them in, so the same input
// gives the same report.
func TestBadInputOrder(t *testing.T) {
	var lists []string
	for _, errs := range [][]string{{"time (field \"created_at\")", "time (field \"updated_at\")"}, {"time (field \"updated_at\")", "time (field \"created_at\")"}} {
		in := vitalstest.Input(t, filepath.Join(vitalstest.CopyCase(t, "clean"), "config.yaml"))
		in.Sources = append(in.Sources, reconcile.SourceSpec{Name: "twice", Type: "test", Source: twoBadSource{errs: errs}})
		res, err := reconcile.Run(context.Background(), in, reconcile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range res.Sources[len(res.Sources)-1].BadList {
			got = append(got, b.At.String()+" "+b.Error)
		}
		lists = append(lists, strings.Join(got, "; "))
	}
	if lists[0] != lists[1] {
		t.Errorf("the bad input list depends on the order it was reported in:\n%s\n%s", lists[0], lists[1])
	}
}

// TestUnknownAttemptWithoutKey: a timed-out attempt whose events carry no
// attempt key, beside another attempt that succeeded, is reported with
// its records as evidence.
func TestUnknownAttemptWithoutKey(t *testing.T) {
	dir := vitalstest.CopyCase(t, "unknown_attempt_then_paid")
	events := filepath.Join(dir, "events.jsonl")
	b, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"currency":"USD","idempotency_key":"idem_ORD-2171_1"}`, `"currency":"USD"}`, 1)
	s = strings.Replace(s, `"data":{"idempotency_key":"idem_ORD-2171_1","reason"`, `"data":{"reason"`, 1)
	if err := os.WriteFile(events, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	res, ins := runDir(t, dir)
	if len(ins) != 1 || len(ins[0].Findings) != 1 || ins[0].Findings[0].Code != saga.OutcomeUnknown {
		t.Fatalf("instances %d, findings %+v: want one OUTCOME_UNKNOWN", len(ins), ins[0].Findings)
	}
	var got []string
	for _, id := range ins[0].Findings[0].Evidence {
		r := res.Store.Record(id)
		got = append(got, r.Kind)
	}
	if strings.Join(got, " ") != "event:PaymentRequested event:PaymentTimedOut" {
		t.Errorf("evidence %v: want the request and the timeout of the attempt without a key", got)
	}
}

// TestOrphanNamesAreUnique: orphans are named by a key that links (each
// value belongs to one group) or, without one, by where they came from,
// never by a key that only searches: two records of one customer would
// share a name, and their findings an id.
func TestOrphanNamesAreUnique(t *testing.T) {
	dir := vitalstest.CopyCase(t, "clean")
	// Two orders without an id: only their customer_id, a search key.
	appendLines(t, dir, "orders.csv",
		",cus_n1WNvC417a,emil.637@example.com,confirmed,100,EUR,2026-11-20T10:00:00Z,2026-11-20T10:00:00Z",
		",cus_n1WNvC417a,emil.637@example.com,confirmed,200,EUR,2026-11-20T10:05:00Z,2026-11-20T10:05:00Z")
	_, ins := runDir(t, dir)
	names, ids := map[string]bool{}, map[string]bool{}
	orphans := 0
	for _, in := range ins {
		if !in.Orphan {
			continue
		}
		orphans++
		names[in.Root] = true
		for _, f := range in.Findings {
			ids[f.ID] = true
		}
	}
	if orphans != 2 || len(names) != 2 || len(ids) != 2 {
		t.Errorf("%d orphans with names %v and %d finding ids; want two of each", orphans, names, len(ids))
	}
}

// TestViolationMessageSeesWholeRecords: conditions see only the keys
// their expressions name, but the message of a violated invariant may
// print whole records: it must see every key and attribute.
func TestViolationMessageSeesWholeRecords(t *testing.T) {
	dir := vitalstest.CopyCase(t, "amount_mismatch")
	cfg := filepath.Join(dir, "config.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, `
process:
  invariants:
    - code: AMOUNT_MISMATCH
      step: capture_payment
      vars:
        charges: distinct(filter(steps.capture_payment.succeeded, .kind == "charge"), "charge_id")
        order: first(by_kind.order ?? [])
      when: len(vars.charges) == 1 && vars.order != nil
      expr: first(vars.charges).amount == vars.order.amount
      message: 'order {{vars.order}}'
`...)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, ins := runDir(t, dir)
	if len(ins) != 1 || len(ins[0].Findings) != 1 {
		t.Fatalf("want one instance with one finding, got %d instances", len(ins))
	}
	msg := ins[0].Findings[0].Message
	for _, want := range []string{"customer_id:cus_Z3L6sUKwzw", "order_id:ORD-2141", "customer_email:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

// TestDuplicateDeliveryInLargeInstance: an instance of more than 32
// records finds repeated deliveries through a map rather than a list; it
// must find the same ones.
func TestDuplicateDeliveryInLargeInstance(t *testing.T) {
	dir := vitalstest.CopyCase(t, "duplicate_delivery")
	var extra []string
	for i := range 40 { // notifications of their own, each delivered once
		extra = append(extra, fmt.Sprintf(`{"event_id":"evt_extra_%d","type":"CustomerNotified","occurred_at":"2026-11-20T09:01:%02d.000Z","order_id":"ORD-2101","data":{}}`, i, i))
	}
	appendLines(t, dir, "events.jsonl", extra...)
	_, ins := runDir(t, dir)
	var in *saga.Instance
	for _, i := range ins {
		if i.Root == "ORD-2101" {
			in = i
		}
	}
	if in == nil || len(in.Records) <= 32 {
		t.Fatalf("want ORD-2101 with more than 32 records, got %+v", in)
	}
	if len(in.Deliveries) != 1 || len(in.Deliveries[0]) != 2 {
		t.Fatalf("deliveries %v, want one event delivered twice", in.Deliveries)
	}
	codes := 0
	for _, f := range in.Findings {
		if f.Code == saga.DuplicateDelivery {
			codes++
		}
	}
	if codes != 1 {
		t.Errorf("%d DUPLICATE_DELIVERY findings, want 1", codes)
	}
}

// TestDeliveryKeyLinks: the delivery key (event_id) links records like any
// linking key, though the store keeps its values with the records and
// correlation joins them after reading: a dead letter that names only the
// event joins the event's instance; an event and its dead letter that
// name no order are one orphan group; an event delivered twice stays one
// instance's, as one delivery.
func TestDeliveryKeyLinks(t *testing.T) {
	dir := vitalstest.CopyCase(t, "clean")
	const created = "evt_f1aac123-1af2-4933-acf5-e74487ff5324" // ORD-2001's OrderCreated
	dl := func(eventID, typ string, ms int) string {
		return fmt.Sprintf(`{"topic":"checkout.dlq","partition":0,"offset":%d,"timestamp":%d,"headers":{},"value":{"event_id":%q,"type":%q}}`+"\n",
			ms%1000, 1795165200000+ms, eventID, typ)
	}
	os.WriteFile(filepath.Join(dir, "dead_letters.jsonl"), []byte(
		dl(created, "Audit", 100)+
			dl("evt_00000000-0000-4000-8000-000000000001", "Audit", 200)), 0o644)
	appendLines(t, dir, "events.jsonl",
		`{"event_id":"evt_00000000-0000-4000-8000-000000000001","type":"Audit","occurred_at":"2026-11-20T09:00:00.000Z"}`,
		`{"event_id":"`+created+`","type":"OrderCreated","occurred_at":"2026-11-20T09:00:09.000Z","order_id":"ORD-2001","data":{"amount":9860,"currency":"EUR"}}`)

	res, ins := runDir(t, dir)
	if len(ins) != 2 {
		t.Fatalf("%d instances, want ORD-2001 and one orphan group", len(ins))
	}
	kinds := func(in *saga.Instance) map[string]int {
		n := map[string]int{}
		for _, id := range in.Records {
			n[res.Store.Kind(id)]++
		}
		return n
	}
	if in := ins[0]; in.Root != "ORD-2001" || kinds(in)["dead_letter"] != 1 || kinds(in)["event:OrderCreated"] != 2 {
		t.Errorf("%s holds %v: want its dead letter and both deliveries of OrderCreated", in.Root, kinds(in))
	}
	var codes []string
	for _, f := range ins[0].Findings {
		codes = append(codes, string(f.Code))
	}
	if got := strings.Join(codes, " "); got != "UNRESOLVED_DEAD_LETTER DUPLICATE_DELIVERY" {
		t.Errorf("ORD-2001 findings %q", got)
	}
	if in := ins[1]; !in.Orphan || in.Root != "event_id:evt_00000000-0000-4000-8000-000000000001" || len(in.Records) != 2 {
		t.Errorf("orphan group %q (orphan %v) holds %d records, want the event and its dead letter", in.Root, in.Orphan, len(in.Records))
	}
}

// TestSingleMappingKeysLink: a linking key type only one record mapping
// carries (payment_intent, on the provider's charges) is kept with its
// records and joined after reading, like the delivery key; the root and
// the types several mappings share are interned. Either way it links: a
// failed retry of the charge that names only the payment intent joins
// the order's instance.
func TestSingleMappingKeysLink(t *testing.T) {
	dir := vitalstest.CopyCase(t, "clean")
	appendLines(t, dir, "charges.csv", "ch_retry,Order ORD-2001,2026-11-20 09:00:02,98.60,0.00,eur,false,Failed,Card declined.,emil.637@example.com,pi_3Qs740j4cQNofKdmDGlA5uFm,3387,,")
	res, ins := runDir(t, dir)
	interned := map[string]bool{}
	for i, typ := range res.Store.KeyTypes() {
		interned[typ] = res.Store.Interned(i)
	}
	want := map[string]bool{"order_id": true, "reservation_id": true, "charge_id": true, "idempotency_key": true,
		"payment_intent": false, "refund_id": false, "invoice_id": false, "event_id": false, "customer_id": false}
	for typ, w := range want {
		if interned[typ] != w {
			t.Errorf("%s interned %v, want %v", typ, interned[typ], w)
		}
	}
	if len(ins) != 1 || ins[0].Root != "ORD-2001" {
		t.Fatalf("%d instances: the retry must join ORD-2001 through its payment intent", len(ins))
	}
	found := false
	for _, id := range ins[0].Records {
		r := res.Store.Record(id)
		if v, _ := r.Key("charge_id"); v == "ch_retry" {
			found = true
		}
	}
	if !found {
		t.Error("ORD-2001 does not hold the retried charge")
	}
}

// EachTransient hands each instance's memory to later instances once fn
// returns: what fn sees must be exactly what Each gives, instance by
// instance, however many times the memory was used before.
func TestEachTransientGivesWhatEachGives(t *testing.T) {
	dir := t.TempDir()
	// A fifth of the instances anomalous: every kind of step result,
	// compensation, delivery group and finding, reused for one another.
	if _, err := gen.Workload(dir, gen.WorkloadOptions{Instances: 3000, AnomalyRate: 0.2, Seed: 7, Config: "../configs/checkout.yaml"}); err != nil {
		t.Fatal(err)
	}
	res := vitalstest.Run(t, filepath.Join(dir, "vitals.yaml"), reconcile.Options{})
	show := func(in *saga.Instance) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %v %s %s %v %v %v %s %v %v %v|", in.Root, in.Roots, in.Outcome, in.Note, in.Start, in.Last, in.Aborted, in.FailedStep, in.FailedAt, in.StepFailed, in.Deliveries)
		fmt.Fprintf(&b, "%v %v %v %v %v %d|", in.Orphan, in.InWindow, in.InGrace, in.NeedsAttention, in.RuleErrors, len(in.Records))
		for _, s := range in.Steps {
			fmt.Fprintf(&b, "%+v|", s)
		}
		for _, c := range in.Compensations {
			fmt.Fprintf(&b, "%+v|", c)
		}
		fmt.Fprintf(&b, "%v|", in.CompEvidence)
		for _, f := range in.Findings {
			fmt.Fprintf(&b, "%+v|", *f)
		}
		return b.String()
	}
	var want []string
	if err := res.Each(context.Background(), func(in *saga.Instance) error { want = append(want, show(in)); return nil }); err != nil {
		t.Fatal(err)
	}
	var got []string
	seen := map[*saga.Instance]bool{}
	if err := res.EachTransient(context.Background(), func(in *saga.Instance) error {
		got = append(got, show(in))
		seen[in] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d instances, Each gives %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("instance %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if len(seen) == len(got) {
		t.Errorf("no instance's memory was reused (%d instances, %d distinct)", len(got), len(seen))
	}
}
