package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/saga"
)

// unit is one thing a succeeded step produced and its compensation undoes:
// a charge, a reservation, the order. Its compensation records (refunds
// made, pending or failed) are attached to it.
type unit struct {
	ttype  string // key type of target ("" when the target is the root)
	target string
	recs   []record.ID
	main   record.ID // the record whose amount and status count
	at     time.Time // first evidence of it
	// start is when its attempt began (the first evidence with its attempt
	// key): the first attempt is the one the customer meant.
	start time.Time

	amount    int64
	currency  string
	hasAmount bool
	qty       int64
	sku       string
	hasQty    bool
	status    string

	// confirmed: the step's authority (the payment provider) has a record
	// of it; units only other sources report are never compensated blind.
	// Without an authority, a unit is confirmed unless the sources disagree
	// about its attempt (divergent): then nothing decides it.
	confirmed bool
	divergent bool

	// compensation side
	refunded int64  // compensations that succeeded, in currency
	pending  []pend // compensations requested, not yet done or failed
	failed   []string
	// unsure: some compensation record's amount cannot be counted (none
	// given, or another currency).
	unsure string
}

// pend is a compensation that is pending.
type pend struct {
	typ, id  string // own key (refund_id re_1), or "record" and its provenance
	amount   int64
	currency string
	known    bool
	at       time.Time
	prov     string
}

// back is what went back or is on its way back, counted in the unit's
// currency: a pending compensation in another currency cannot be added
// (it makes the unit unsure instead).
func (u *unit) back() int64 {
	n := u.refunded
	for _, p := range u.pending {
		if p.currency == u.currency {
			n += p.amount
		}
	}
	return n
}

func (u *unit) remaining() int64 {
	r := u.amount - u.refunded
	for _, p := range u.pending {
		r -= p.amount
	}
	return r
}

// compSet is the compensation records of one compensation, by unit.
type compSet struct {
	// unattributed compensations name no unit (a refund that names no
	// charge): they count against the whole instance.
	refunded map[string]int64 // by currency
	pending  []pend
	unsure   string
}

// units groups the step's succeeded evidence by the target key of its
// compensation (charge_id for refund_payment), in order of first evidence.
func (d *draft) units(s *rules.Step, sr *saga.StepResult, comp string) ([]*unit, int) {
	b := d.b
	st := b.st
	tkey := -1
	if k, ok := TargetKeys[comp]; ok {
		tkey = st.KeyTypeIndex(k)
	}
	var succ []record.ID
	for _, e := range sr.Evidence {
		if e.Role == saga.RoleSucceeded && !slices.Contains(succ, e.Record) && !slices.Contains(sr.Duplicates, e.Record) {
			succ = append(succ, e.Record)
		}
	}
	var out []*unit
	if tkey >= 0 {
		for _, id := range succ {
			v, ok := st.KeyOf(id, tkey)
			if !ok {
				continue
			}
			i := slices.IndexFunc(out, func(u *unit) bool { return u.target == v })
			if i < 0 {
				out = append(out, &unit{ttype: b.m.KeyTypes[tkey], target: v})
				i = len(out) - 1
			}
			out[i].recs = append(out[i].recs, id)
		}
	}
	if len(out) == 0 {
		tkey = b.m.RootType
		if len(succ) > 0 {
			out = append(out, &unit{target: d.in.Root, recs: succ})
		}
	}
	for _, u := range out {
		d.fill(s, sr, u)
	}
	return out, tkey
}

func (d *draft) fill(s *rules.Step, sr *saga.StepResult, u *unit) {
	st := d.b.st
	u.at = st.Time(u.recs[0])
	u.start = u.at
	if s.AttemptType >= 0 {
		var keys []string
		for _, id := range u.recs {
			if v, ok := st.KeyOf(id, s.AttemptType); ok {
				keys = append(keys, v)
				u.divergent = u.divergent || slices.Contains(sr.Divergent, v)
			}
		}
		for _, e := range sr.Evidence {
			if v, ok := st.KeyOf(e.Record, s.AttemptType); ok && slices.Contains(keys, v) {
				if t := st.Time(e.Record); t.Before(u.start) {
					u.start = t
				}
			}
		}
	}
	u.main = u.recs[0]
	u.confirmed = s.Authority == "" && !u.divergent
	best := -1 // 3 authority with amount, 2 amount, 1 authority
	for _, id := range u.recs {
		st.Get(id, &d.b.rec)
		r := &d.b.rec
		auth := s.Authority != "" && r.Prov.Source == s.Authority
		if auth {
			u.confirmed = true
		}
		rank := 0
		switch {
		case auth && r.HasAmount:
			rank = 3
		case r.HasAmount:
			rank = 2
		case auth:
			rank = 1
		}
		if rank > best {
			best, u.main = rank, id
		}
	}
	st.Get(u.main, &d.b.rec)
	r := &d.b.rec
	u.amount, u.currency, u.hasAmount, u.status = r.Amount, r.Currency, r.HasAmount, r.Status
	for _, id := range u.recs {
		if u.status != "" {
			break
		}
		_, _, sym := st.Sig(id)
		u.status = st.SymName(sym)
	}
	if q, err := strconv.ParseInt(strings.TrimSpace(r.Attr("quantity")), 10, 64); err == nil {
		u.qty, u.hasQty, u.sku = q, true, r.Attr("sku")
	}
}

// comps attaches the compensation records of comp to the units they name
// (by the target key type tkey) and returns those that name none.
func (d *draft) comps(s *rules.Step, comp string, units []*unit, tkey int) *compSet {
	b := d.b
	st := b.st
	cs := &compSet{refunded: map[string]int64{}}
	var ids []record.ID
	for _, e := range d.in.CompEvidence[comp] {
		if !slices.Contains(ids, e.Record) {
			ids = append(ids, e.Record)
		}
	}
	roles := map[record.ID][]saga.Role{}
	for _, e := range d.in.CompEvidence[comp] {
		roles[e.Record] = append(roles[e.Record], e.Role)
	}
	// Group records into compensations by their own key (a refund's
	// refund_id): the same refund reported twice is one refund.
	type group struct {
		u        *unit
		own      pend
		recs     []record.ID
		anon     bool  // names no compensation of its own
		first    int64 // time of its first record
		succ     bool
		succAt   int64
		failAt   int64
		reqAt    int64
		amount   int64
		currency string
		known    bool
		// differs: another record of the same compensation gives another
		// amount or currency (two sources disagree on what went back).
		differs string
	}
	var groups []*group
	byOwn := map[string]*group{}
	// Key types the step's own records carry (payment_intent on a charge)
	// name what is undone, not the compensation: two refunds of one payment
	// intent are two refunds.
	stepTypes := map[int]bool{}
	if sr := d.in.Step(s.Name); sr != nil {
		for _, e := range sr.Evidence {
			st.KeyValues(e.Record, func(t int, _ string) { stepTypes[t] = true })
		}
	}
	for _, id := range ids {
		var u *unit
		if tkey == b.m.RootType && len(units) == 1 {
			u = units[0]
		} else if v, ok := st.KeyOf(id, tkey); ok {
			if i := slices.IndexFunc(units, func(u *unit) bool { return u.target == v }); i >= 0 {
				u = units[i]
			}
		}
		ownType, ownID := d.ownKey(s, id, tkey, stepTypes)
		st.Get(id, &b.rec)
		prov := b.rec.Prov.String()
		var g *group
		if ownID != "" {
			g = byOwn[ownType+"\x00"+ownID]
		}
		if g == nil {
			g = &group{u: u, own: pend{typ: ownType, id: ownID, prov: prov, at: b.rec.Time}, first: b.rec.Time.UnixNano()}
			if ownID == "" {
				// A request with no key of its own: name it by its
				// delivery key (the event id) or where it was read.
				g.own.typ, g.own.id = "record", prov
				if b.m.DeliveryType >= 0 {
					if v, ok := st.KeyOf(id, b.m.DeliveryType); ok {
						g.own.typ, g.own.id = b.m.KeyTypes[b.m.DeliveryType], v
					}
				}
				g.anon = true
			} else {
				byOwn[ownType+"\x00"+ownID] = g
			}
			groups = append(groups, g)
		}
		if g.u == nil {
			g.u = u
		}
		g.recs = append(g.recs, id)
		t := st.UnixNano(id)
		for _, r := range roles[id] {
			switch r {
			case saga.RoleSucceeded:
				g.succ = true
				g.succAt = max(g.succAt, t)
			case saga.RoleFailed:
				g.failAt = max(g.failAt, t)
			default:
				g.reqAt = max(g.reqAt, t)
			}
		}
		if b.rec.HasAmount && !g.known {
			g.amount, g.currency, g.known = b.rec.Amount, b.rec.Currency, true
		} else if b.rec.HasAmount && (b.rec.Amount != g.amount || b.rec.Currency != g.currency) && g.differs == "" {
			g.differs = fmt.Sprintf("%s says %s, %s says %s", g.own.prov, money(g.amount, g.currency), prov, money(b.rec.Amount, b.rec.Currency))
		}
	}
	d.unclassified(s, comp, units, tkey, ids, cs)
	for _, g := range groups {
		g.own.amount, g.own.currency, g.own.known = g.amount, g.currency, g.known
		if g.differs != "" {
			d.unsure(cs, g.u, "the records of "+g.own.typ+" "+g.own.id+" disagree on its amount ("+g.differs+")")
			continue
		}
		switch {
		case g.succ:
			if !g.known {
				d.unsure(cs, g.u, g.own.prov+" records a "+comp+" with no amount")
				continue
			}
			if g.amount <= 0 {
				// Some exports write refunds as negative amounts: counting
				// one would lower what is back and raise what is left to
				// refund. Never guess its sign.
				d.unsure(cs, g.u, g.own.prov+" records a "+comp+" of "+money(g.amount, g.currency)+": a "+comp+" must be a positive amount (map a negative export's sign away)")
				continue
			}
			if g.u == nil {
				if !slices.ContainsFunc(units, func(u *unit) bool { return u.hasAmount && u.currency == g.currency }) {
					// It counts against no charge, so it would be ignored.
					d.unsure(cs, nil, g.own.prov+" is in "+g.currency+", a currency no "+label(b.m.KeyTypes[tkey], b.m.Root)+" was captured in")
					continue
				}
				cs.refunded[g.currency] += g.amount
				continue
			}
			if g.currency != g.u.currency {
				d.unsure(cs, g.u, g.own.prov+" is in "+g.currency+", not "+g.u.currency)
				continue
			}
			g.u.refunded += g.amount
		case g.failAt != 0 && g.reqAt <= g.failAt:
			if g.u != nil {
				g.u.failed = append(g.u.failed, g.own.id)
			}
		default:
			// Requested with no outcome. A request that names no refund of
			// its own (a RefundRequested event) is the same compensation as
			// a later one of the same unit that does (the provider's refund
			// row, in whatever state), or is answered by a later outcome.
			if g.anon && slices.ContainsFunc(groups, func(o *group) bool {
				if o == g || o.u != g.u {
					return false
				}
				return !o.anon && o.first >= g.first || max(o.succAt, o.failAt) >= g.reqAt
			}) {
				continue
			}
			if g.known && g.u != nil && g.currency != g.u.currency {
				d.unsure(cs, g.u, g.own.prov+" is in "+g.currency+", not "+g.u.currency)
			}
			if g.u == nil {
				cs.pending = append(cs.pending, g.own)
			} else {
				g.u.pending = append(g.u.pending, g.own)
			}
		}
	}
	return cs
}

// unclassified marks as unsure the units named by records of comp's kinds
// that none of its matchers took (a refund in status requires_action or
// canceled): whether it was made, is pending or failed cannot be told, and
// ignoring it could pay the same money back twice. ids are the records the
// matchers did take.
func (d *draft) unclassified(s *rules.Step, comp string, units []*unit, tkey int, ids []record.ID, cs *compSet) {
	b := d.b
	st := b.st
	if s.Comp == nil || s.Comp.Name != comp {
		return
	}
	kinds, anyKind := s.Comp.EvidenceKinds()
	if anyKind || len(kinds) == 0 {
		return
	}
	for _, id := range d.in.Records {
		if slices.Contains(ids, id) || !slices.Contains(kinds, st.Kind(id)) || d.stepEvidence(id) {
			continue
		}
		var u *unit
		if tkey == b.m.RootType && len(units) == 1 {
			u = units[0]
		} else if v, ok := st.KeyOf(id, tkey); ok {
			if i := slices.IndexFunc(units, func(u *unit) bool { return u.target == v }); i >= 0 {
				u = units[i]
			}
		}
		st.Get(id, &b.rec)
		d.unsure(cs, u, fmt.Sprintf("%s records a %s in status %q, which %s does not classify as requested, succeeded or failed", b.rec.Prov, b.rec.Kind, b.rec.Status, comp))
	}
}

// stepEvidence reports whether a record is evidence of a forward step.
func (d *draft) stepEvidence(id record.ID) bool {
	for i := range d.in.Steps {
		if slices.ContainsFunc(d.in.Steps[i].Evidence, func(e saga.Evidence) bool { return e.Record == id }) {
			return true
		}
	}
	return false
}

func (d *draft) unsure(cs *compSet, u *unit, why string) {
	if u == nil {
		if cs.unsure == "" {
			cs.unsure = why
		}
		return
	}
	if u.unsure == "" {
		u.unsure = why
	}
}

// ownKey is the key that names a compensation record itself (refund_id):
// the first linking key type that is not the root, the target, the
// delivery key, the step's attempt key or a key type the step's own
// records carry (stepTypes).
func (d *draft) ownKey(s *rules.Step, id record.ID, tkey int, stepTypes map[int]bool) (string, string) {
	b := d.b
	best, val := -1, ""
	b.st.KeyValues(id, func(t int, v string) {
		if !b.links[t] || t == tkey || t == b.m.RootType || t == b.m.DeliveryType || t == s.AttemptType || stepTypes[t] {
			return
		}
		if best < 0 || t < best {
			val, best = v, t
		}
	})
	if best < 0 {
		return "", ""
	}
	return b.m.KeyTypes[best], val
}
