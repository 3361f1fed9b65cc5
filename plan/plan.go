// Package plan turns a run's instances and findings into a dry-run repair
// plan: ordered actions (refunds, stock releases, status fixes, dead-letter
// replays, provider queries, manual reviews), each with its target, the
// money or stock it moves, the findings it resolves, the preconditions to
// re-check just before executing it, and an idempotency key that is the
// same on every run. vitals never executes a plan; the system's own workers
// do, after a person has reviewed it.
//
// Safety rules the planner keeps (each has its own test):
//   - never refund more than was captured, per charge and per instance,
//     counting refunds already made or pending;
//   - never compensate a step that did not succeed;
//   - for a double capture, refund only the extra charge(s) and keep the
//     one the order refers to;
//   - for an unknown outcome, plan query_provider and manual_review, never
//     a blind refund or retry;
//   - a refund already pending produces no second refund.
package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/dlq"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/saga"
)

// Schema names the plan's JSON format (docs/plan-schema.md).
const Schema = "vitals.plan/v1"

// Built-in actions. A compensation the process model declares under any
// other name is planned as an action of that name.
const (
	RefundPayment    = "refund_payment"
	ReleaseStock     = "release_stock"
	MarkOrderFailed  = "mark_order_failed"
	VoidInvoice      = "void_invoice"
	ReplayDeadLetter = "replay_dead_letter"
	QueryProvider    = "query_provider"
	ManualReview     = "manual_review"
)

// TargetKeys names the key type each built-in compensation acts on: a
// refund acts on a charge, a release on a reservation, a void on an
// invoice. Other compensations (mark_order_failed among them) act on the
// instance's root (the order).
var TargetKeys = map[string]string{
	RefundPayment: "charge_id",
	ReleaseStock:  "reservation_id",
	VoidInvoice:   "invoice_id",
}

// MoneyActions are the compensations that move money: their amounts are
// capped by what was captured, net of refunds made or pending. Every other
// compensation acts on a thing (a reservation, the order's status).
var MoneyActions = map[string]bool{RefundPayment: true}

// Plan is a dry-run repair plan. Its JSON form is documented in
// docs/plan-schema.md; the same input gives byte-identical output.
type Plan struct {
	Schema string `json:"schema"`
	// ID is a hash of the actions: the plan a reviewer confirms with
	// --confirm is exactly the plan that is emitted.
	ID        string      `json:"id"`
	Run       Run         `json:"run"`
	Summary   Summary     `json:"summary"`
	Totals    []Total     `json:"totals"`
	Actions   []Action    `json:"actions"`
	Unplanned []Unplanned `json:"unplanned"`
	// Rerun is the command that computes this plan again, for the table's
	// hint on how to emit it (default: vitals plan).
	Rerun string `json:"-"`
}

// Run describes the run the plan was computed from.
type Run struct {
	Process  string `json:"process"`
	Config   string `json:"config,omitempty"`
	AsOf     string `json:"as_of"`
	Since    string `json:"since,omitempty"`
	Until    string `json:"until"`
	Complete bool   `json:"complete"`
	// BadInput counts the input the sources could not read (rows, lines,
	// messages; vitals check lists where). One may be a refund or release
	// already made, so such a plan is never emitted.
	BadInput int `json:"bad_input,omitempty"`
	// AfterAsOf counts the records dated after as_of, left out so the run
	// is reproducible. The plan is as of as_of, older than that evidence (a
	// refund made since), so it is never emitted.
	AfterAsOf int `json:"after_as_of,omitempty"`
}

// Summary counts what the plan covers.
type Summary struct {
	Actions  int            `json:"actions"`
	ByAction map[string]int `json:"by_action"`
	// Instances is the number of instances (and orphan groups) with at
	// least one action.
	Instances int `json:"instances"`
	// Findings is the number of findings of the run; Covered those that
	// some action resolves; Unplanned those left without one (each with
	// its reason under unplanned).
	Findings  int `json:"findings"`
	Covered   int `json:"covered"`
	Unplanned int `json:"unplanned"`
}

// Total sums the money one kind of action moves in one currency.
type Total struct {
	Action   string `json:"action"`
	Currency string `json:"currency"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"` // minor units
}

// Action is one thing to do.
type Action struct {
	Seq    int    `json:"seq"`
	Action string `json:"action"`
	// IdempotencyKey is derived from process, root, action and target
	// only: executing the same action twice must act once.
	IdempotencyKey string `json:"idempotency_key"`
	Process        string `json:"process"`
	Root           string `json:"root"`
	// Step is the step the action undoes, replays or asks about.
	Step   string `json:"step,omitempty"`
	Target Target `json:"target"`
	// Amount (minor units) and Currency: the money the action moves.
	Amount   *int64 `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	// Quantity and Unit (the SKU): the stock the action moves.
	Quantity *int64 `json:"quantity,omitempty"`
	Unit     string `json:"unit,omitempty"`
	// Replay is the original message a replay_dead_letter re-publishes.
	Replay *dlq.Original `json:"replay,omitempty"`
	// Resolves lists the findings the action resolves (or, for
	// query_provider and manual_review, addresses).
	Resolves []Ref `json:"resolves"`
	// Preconditions must all still hold just before executing the action;
	// if one does not, skip the action and re-run vitals plan.
	Preconditions []string `json:"preconditions"`
	Reason        string   `json:"reason"`
	// Evidence is where the facts behind the action came from.
	Evidence []string `json:"evidence"`

	phase   int // query, replay, compensate, manual
	stepIdx int
}

// Target is what an action acts on: a key type and value (charge_id ch_1,
// reservation_id R-7, order_id ORD-9), dead_letter topic/partition@offset,
// or orphan type:value.
type Target struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (t Target) String() string { return t.Type + " " + t.ID }

// Ref names a finding.
type Ref struct {
	ID   string `json:"id"`
	Code string `json:"code"`
}

// Unplanned is a finding the plan deliberately leaves without an action.
type Unplanned struct {
	Finding  string `json:"finding"`
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Root     string `json:"root"`
	Step     string `json:"step,omitempty"`
	Reason   string `json:"reason"`
}

// Options tune Build.
type Options struct {
	// ConfigPath is shown in the plan's run section.
	ConfigPath string
}

// Build evaluates every instance of res and plans the repair of those
// with findings.
func Build(ctx context.Context, res *reconcile.Result, opts Options) (*Plan, error) {
	in := res.In
	p := &Plan{
		Schema: Schema,
		Run: Run{
			Process: res.Model.Name, Config: opts.ConfigPath, AsOf: ts(in.AsOf),
			Since: ts(in.Since), Until: ts(in.Until), Complete: res.Complete,
		},
		Summary:   Summary{ByAction: map[string]int{}},
		Totals:    []Total{},
		Actions:   []Action{},
		Unplanned: []Unplanned{},
	}
	for _, s := range res.Sources {
		p.Run.BadInput += s.Bad
		p.Run.AfterAsOf += s.OutsideWindow
	}
	b := newBuilder(res)
	err := res.Each(ctx, func(inst *saga.Instance) error {
		if len(inst.Findings) == 0 {
			return nil
		}
		p.Summary.Findings += len(inst.Findings)
		d, err := b.instance(inst)
		if err != nil {
			return fmt.Errorf("plan %s %s: %w", res.Model.Root, inst.Root, err)
		}
		if len(d.actions) > 0 {
			p.Summary.Instances++
		}
		for _, a := range d.actions {
			p.Actions = append(p.Actions, *a)
		}
		p.Unplanned = append(p.Unplanned, d.unplanned...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	finish(p)
	return p, nil
}

// finish numbers the actions, sums them up and computes the plan id.
func finish(p *Plan) {
	covered := map[string]bool{}
	totals := map[[2]string]*Total{}
	for i := range p.Actions {
		a := &p.Actions[i]
		a.Seq = i + 1
		p.Summary.ByAction[a.Action]++
		for _, r := range a.Resolves {
			covered[r.ID] = true
		}
		if a.Amount != nil {
			k := [2]string{a.Action, a.Currency}
			t := totals[k]
			if t == nil {
				t = &Total{Action: a.Action, Currency: a.Currency}
				totals[k] = t
			}
			t.Count++
			t.Amount += *a.Amount
		}
	}
	p.Summary.Actions = len(p.Actions)
	p.Summary.Covered = len(covered)
	p.Summary.Unplanned = len(p.Unplanned)
	for _, t := range totals {
		p.Totals = append(p.Totals, *t)
	}
	sort.Slice(p.Totals, func(i, j int) bool {
		if p.Totals[i].Action != p.Totals[j].Action {
			return p.Totals[i].Action < p.Totals[j].Action
		}
		return p.Totals[i].Currency < p.Totals[j].Currency
	})
	p.ID = ID(p.Actions)
}

// ID is the plan id of a list of actions: a hash of their JSON form.
func ID(actions []Action) string {
	b, err := json.Marshal(actions)
	if err != nil {
		// Actions hold only strings and numbers.
		panic(fmt.Sprintf("plan: marshal actions: %v", err))
	}
	h := sha256.Sum256(b)
	return "p_" + hex.EncodeToString(h[:8])
}

// IdempotencyKey is the key of an action: deterministic from process,
// root key, action and target, so it is the same on every run.
func IdempotencyKey(process, root, action string, t Target) string {
	h := sha256.Sum256([]byte(strings.Join([]string{process, root, action, t.Type, t.ID}, "\x00")))
	return "vk_" + hex.EncodeToString(h[:16])
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
