package reconcile

import (
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/saga"
)

// evid is one piece of evidence for one step or compensation.
type evid struct {
	id      record.ID
	role    saga.Role
	t       int64
	src     record.Sym
	dead    bool // a dead letter: a failed attempt, never a source's verdict
	dup     bool // a repeated delivery of an earlier record
	attempt attemptKey
}

// attemptKey identifies the value of a record's attempt key without
// decoding it (record.KeyRef); the zero value: none.
type attemptKey struct {
	id  record.KeyID
	raw string // a view into the store, for a key type not interned
	ok  bool
}

// inferer infers step states; each goroutine has its own.
type inferer struct {
	r        *Result
	blk      *instanceBlock // the block of the instance last inferred
	cls      *rules.Classifier
	judge    *rules.Judger
	deadKind record.Sym
	hasDead  bool
	matches  []rules.Match // the classifier's (Matches), for the current record
	ev       [][]evid
	// groups are the instance's deliveries, found by key in a search of
	// the list for a small instance, else through seen.
	groups   []delivery
	seen     map[deliveryKey]int // key -> index into groups
	attempts [][]evid            // one step's evidence by attempt (byAttempt)
	verdicts []verdict
	kinds    []record.Sym // of the instance's records, for the judge
	// keyTypes has the bits of the delivery key's type and of the steps'
	// attempt key types: the keys inference reads of every record (into
	// keys, by HeadKeys).
	keyTypes uint64
	keys     []record.KeyRef
	// arena is what is left of the current instance's evidence
	// allocation (see instance); the instance owns it, not x.
	arena []saga.Evidence
}

// delivery is the records of one delivery key: the first, then the
// repeated deliveries, if any.
type delivery struct {
	key   deliveryKey
	first record.ID
	again []record.ID
}

// smallInstance: up to this many records, deliveries are searched in a
// list rather than a map.
const smallInstance = 32

type deliveryKey struct {
	src, kind record.Sym
	id        record.KeyID // for an interned key type
	raw       string       // else the value's encoding, a view into the store
}

func (r *Result) newInferer() *inferer {
	m := r.Model
	x := &inferer{r: r, cls: m.Classifier(r.Store), judge: m.Judger(r.Store), ev: make([][]evid, len(m.Steps)+len(m.Comps)), seen: map[deliveryKey]int{}}
	x.deadKind, x.hasDead = r.Store.Sym(record.KindDeadLetter)
	if m.DeliveryType >= 0 {
		x.keyTypes |= 1 << m.DeliveryType
	}
	for _, s := range m.Steps {
		if s.AttemptType >= 0 {
			x.keyTypes |= 1 << s.AttemptType
		}
	}
	if r.cov == nil {
		r.cov = newCoverage(r.Sources)
	}
	// Which sources could read each invariant's kinds only in part is
	// settled once, not per instance.
	parts := make([]partialCov, len(m.Invariants))
	for i, inv := range m.Invariants {
		parts[i] = r.cov.partialFor(inv.ReadsKinds())
	}
	x.judge.Partial = func(i int, start time.Time) string { return parts[i].at(start) }
	return x
}

// setTimes sets an instance's Start and Last from the unix times of its
// first and last records, and what follows from Start.
func (x *inferer) setTimes(in *saga.Instance, first, last int64) {
	r := x.r
	in.Start = time.Unix(0, first).UTC()
	in.Last = time.Unix(0, last).UTC()
	in.InWindow = (r.In.Since.IsZero() || !in.Start.Before(r.In.Since)) && in.Start.Before(r.In.Until)
	in.InGrace = r.In.AsOf.Sub(in.Start) < r.In.Grace
}

// findKey returns the key of type typ among a record's keys as HeadKeys
// read them; false when it has none (or typ < 0).
func findKey(keys []record.KeyRef, typ int) (record.KeyRef, bool) {
	for _, k := range keys {
		if k.Type == typ {
			return k, true
		}
	}
	return record.KeyRef{}, false
}

// bstring views b as a string without copying: b is in the store, which
// outlives the inference.
func bstring(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (x *inferer) resetDeliveries(small bool) {
	x.groups = x.groups[:0]
	if small {
		return // seen is not used
	}
	if len(x.seen) > 1024 {
		// Clearing costs the map's capacity, which never shrinks: after a
		// huge instance, start a new one rather than clear it for every
		// large instance after.
		x.seen = map[deliveryKey]int{}
	} else {
		clear(x.seen)
	}
}

// deliver files record id under its delivery key — the same key from one
// source and kind is the same event delivered again — and reports
// whether an earlier record had it.
func (x *inferer) deliver(dk deliveryKey, id record.ID, small bool) bool {
	g := -1
	if small {
		for i := range x.groups {
			if x.groups[i].key == dk {
				g = i
				break
			}
		}
	} else if i, ok := x.seen[dk]; ok {
		g = i
	}
	if g >= 0 {
		x.groups[g].again = append(x.groups[g].again, id)
		return true
	}
	if !small {
		x.seen[dk] = len(x.groups)
	}
	x.groups = append(x.groups, delivery{key: dk, first: id})
	return false
}

// instanceBlock is an instance with room for its root value: see
// instance. steps keeps the array of its step results when the block is
// reused (EachTransient).
type instanceBlock struct {
	in    saga.Instance
	root  [1]string
	steps []saga.StepResult
}

// block returns a zeroed instance block: one EachTransient's consumer
// handed back, or a new one.
func (r *Result) block() *instanceBlock {
	b, ok := r.spare.Get().(*instanceBlock)
	if !ok {
		return &instanceBlock{}
	}
	steps := b.in.Steps
	if steps == nil { // an orphan's: no step results, the array is kept aside
		steps = b.steps
	}
	*b = instanceBlock{steps: steps[:cap(steps)]}
	return b
}

// stepResults returns n zeroed step results, in the block's reused
// array when it is long enough.
func (b *instanceBlock) stepResults(n int) []saga.StepResult {
	if len(b.steps) >= n {
		s := b.steps[:n:n]
		clear(s)
		return s
	}
	return make([]saga.StepResult, n)
}

func (x *inferer) instance(ci int) (*saga.Instance, error) {
	r := x.r
	c := &r.comps[ci]
	st := r.Store
	m := r.Model
	ms := r.members[c.off : c.off+c.n]
	// The instance and the backing array of its one root value are one
	// allocation: most instances have a single root. The array lives as
	// long as the instance does, and Roots, of capacity 1, is never
	// appended to in place. Fields are set one by one: copying a whole
	// Instance into the heap costs write barriers while the GC runs.
	blk := r.block()
	x.blk = blk
	in := &blk.in
	in.Process = m.Name
	in.Root = r.name(c)
	in.Records = ms
	in.Orphan = c.orphan()
	if rs, ok := r.multiRoot[ci]; ok {
		in.Roots = rs
	} else if !in.Orphan {
		blk.root[0] = in.Root
		in.Roots = blk.root[:]
	}
	x.kinds = x.kinds[:0]
	if in.Orphan {
		x.setTimes(in, st.UnixNano(ms[0]), st.UnixNano(ms[len(ms)-1]))
		return in, nil
	}

	for i := range x.ev {
		x.ev[i] = x.ev[i][:0]
	}
	small := len(ms) <= smallInstance
	x.resetDeliveries(small)
	var tFirst, tLast int64 // the times of the first and the last record
	for j, id := range ms {
		// One pass over the record reads its head, its delivery key and
		// its attempt key (x.keyTypes).
		h, keys := st.HeadKeys(id, x.keyTypes, x.keys[:0])
		x.keys = keys
		if j == 0 {
			tFirst = h.UnixNano
		}
		tLast = h.UnixNano
		src, kind, status := h.Source, h.Kind, h.Status
		x.kinds = append(x.kinds, kind)
		dup := false
		if kr, ok := findKey(keys, m.DeliveryType); ok {
			dk := deliveryKey{src: src, kind: kind, id: kr.ID, raw: bstring(kr.Raw)}
			dup = x.deliver(dk, id, small)
		}
		var err error
		x.matches, err = x.cls.Matches(id, src, kind, status)
		if err != nil {
			return nil, err
		}
		if len(x.matches) == 0 {
			continue
		}
		e := evid{id: id, t: h.UnixNano, src: src, dead: x.hasDead && kind == x.deadKind, dup: dup}
		for _, mt := range x.matches {
			e.role = mt.Role
			e.attempt = attemptKey{}
			if mt.Target < len(m.Steps) {
				if at := m.Steps[mt.Target].AttemptType; at >= 0 {
					kr, ok := findKey(keys, at)
					e.attempt = attemptKey{id: kr.ID, raw: bstring(kr.Raw), ok: ok}
				}
			}
			x.ev[mt.Target] = append(x.ev[mt.Target], e)
		}
	}
	x.setTimes(in, tFirst, tLast)

	// The evidence lists of the steps and of CompEvidence are cut from one
	// allocation, each capped at its length so that appending to one
	// never writes into the next. They belong to the instance.
	total := 0
	for _, ev := range x.ev {
		total += len(ev)
	}
	x.arena = make([]saga.Evidence, total)
	for j, c := range m.Comps {
		if ev := x.ev[len(m.Steps)+j]; len(ev) > 0 {
			if in.CompEvidence == nil {
				in.CompEvidence = map[string][]saga.Evidence{}
			}
			in.CompEvidence[c.Name] = x.evidence(ev)
		}
	}
	for _, g := range x.groups {
		if len(g.again) > 0 {
			in.Deliveries = append(in.Deliveries, append([]record.ID{g.first}, g.again...))
		}
	}
	steps := blk.stepResults(len(m.Steps))
	for i, s := range m.Steps {
		x.step(&steps[i], s, x.ev[i])
	}
	x.skipped(steps)
	in.Steps = steps

	// Did the instance abort? At the first failed (non-retriable) step
	// after which nothing succeeded, or when compensations began before the
	// last step succeeded.
	last := len(steps) - 1
	failIdx := -1
	var failAt time.Time
	for i := range steps {
		if steps[i].Effective == saga.Failed && !laterSucceeded(steps, i) {
			failIdx, failAt = i, steps[i].At
			break
		}
	}
	if failIdx < 0 && steps[last].Effective != saga.Succeeded {
		var first int64
		for j := range m.Comps {
			for _, e := range x.ev[len(m.Steps)+j] {
				if first == 0 || e.t < first {
					first = e.t
				}
			}
		}
		if first != 0 {
			failAt = time.Unix(0, first).UTC()
			// The step it began compensating before: the first that did not
			// succeed, passing over steps without evidence in sources that
			// did not cover the time (a failed source shows nothing: its
			// steps are not known to be undone).
			failIdx = 0
			for failIdx < len(steps) && (steps[failIdx].Effective == saga.Succeeded || steps[failIdx].State == saga.NotSeen && x.uncovered(failIdx, failAt)) {
				failIdx++
			}
		}
	}
	if failIdx < 0 {
		// Only a live instance waits for its next step.
		x.pending(steps, in.Start)
	}
	aborted := failIdx >= 0
	if aborted {
		in.Aborted, in.FailedAt = true, failAt
		if failIdx < len(steps) {
			in.FailedStep = steps[failIdx].Name
			in.StepFailed = steps[failIdx].Effective == saga.Failed
		}
		for i := last; i >= 0; i-- {
			s := m.Steps[i]
			if s.Comp == nil {
				continue
			}
			switch steps[i].Effective {
			case saga.Succeeded:
				in.Compensations = append(in.Compensations, x.comp(s.Comp, x.ev[len(m.Steps)+s.Comp.Index], failAt))
			case saga.Unknown:
				in.Compensations = append(in.Compensations, saga.CompResult{
					Name: s.Comp.Name, For: s.Name, State: saga.CompensationUnknown,
					Evidence: toEvidence(x.ev[len(m.Steps)+s.Comp.Index]),
					Note:     fmt.Sprintf("the outcome of %s is unknown: find out before compensating", s.Name),
				})
			}
		}
	}

	for _, s := range steps {
		if s.State == saga.Conflicting || s.State == saga.Unknown || len(s.UnknownAttempts) > 0 {
			in.NeedsAttention = true
		}
	}
	if len(in.Roots) > 1 {
		in.NeedsAttention = true
	}
	in.Outcome, in.Note = outcome(in, steps, aborted, r.In.Grace)
	return in, nil
}

func laterSucceeded(steps []saga.StepResult, i int) bool {
	for j := i + 1; j < len(steps); j++ {
		if steps[j].Effective == saga.Succeeded {
			return true
		}
	}
	return false
}

func outcome(in *saga.Instance, steps []saga.StepResult, aborted bool, grace time.Duration) (saga.Outcome, string) {
	if in.InGrace {
		return saga.InFlight, fmt.Sprintf("younger than the %s grace period", grace)
	}
	has := func(st saga.State) bool {
		for _, s := range steps {
			if s.State == st {
				return true
			}
		}
		return false
	}
	if aborted {
		var failed, missing, unknown, pending bool
		for _, c := range in.Compensations {
			switch {
			case c.State == saga.CompensationFailed:
				failed = true
			case c.State == saga.CompensationStalled, c.State == saga.CompensationRequired && c.Late:
				missing = true
			case c.State == saga.CompensationUnknown:
				unknown = true
			case c.State == saga.Compensating, c.State == saga.CompensationRequired:
				pending = true
			}
		}
		switch {
		case failed:
			return saga.CompensationFailedO, ""
		case missing:
			return saga.FailedUncompensated, ""
		case unknown:
			return saga.Ambiguous, "a step's outcome is unknown, so whether to compensate it is too"
		case pending:
			return saga.InFlight, "compensating"
		}
		return saga.CompensatedOutcome, ""
	}
	if steps[len(steps)-1].Effective == saga.Succeeded {
		return saga.Completed, ""
	}
	if has(saga.Overdue) {
		return saga.Stalled, ""
	}
	for _, s := range steps {
		if s.Effective == saga.Unknown {
			return saga.Ambiguous, ""
		}
	}
	if has(saga.Requested) {
		return saga.InFlight, ""
	}
	return saga.Stalled, "no step is pending and the last step never succeeded"
}

// evidence is toEvidence for a non-empty ev, cut from x.arena.
func (x *inferer) evidence(ev []evid) []saga.Evidence {
	out := x.arena[:len(ev):len(ev)]
	x.arena = x.arena[len(ev):]
	for i := range ev {
		out[i] = saga.Evidence{Record: ev[i].id, Role: ev[i].role}
	}
	return out
}

func toEvidence(ev []evid) []saga.Evidence {
	out := make([]saga.Evidence, 0, len(ev))
	for _, e := range ev {
		out = append(out, saga.Evidence{Record: e.id, Role: e.role})
	}
	return out
}

// verdict is the state of one attempt.
type verdict struct {
	first    record.ID // its first record, which carries its key
	state    saga.State
	eff      saga.State
	at       int64
	deadline int64
	note     string
	n        int // attempts it stands for
}

// step judges a step from its evidence into res, a zero StepResult in the
// heap: filling it in place spares copying the whole struct (and its write
// barriers while the GC runs).
func (x *inferer) step(res *saga.StepResult, s *rules.Step, ev []evid) {
	res.Name, res.State, res.Effective = s.Name, saga.NotSeen, saga.NotSeen
	if len(ev) == 0 {
		return
	}
	res.Evidence = x.evidence(ev)
	for i := range ev {
		// A record's matches for one step are next to each other in ev.
		// (Loops over evidence take pointers: an evid is 56 bytes to copy.)
		e := &ev[i]
		if e.dup && (len(res.Duplicates) == 0 || res.Duplicates[len(res.Duplicates)-1] != e.id) {
			res.Duplicates = append(res.Duplicates, e.id)
		}
	}
	if !severalAttempts(ev) {
		// The usual case, one attempt: it decides the step. (An unknown
		// attempt is listed only beside a decided one, so never here.)
		v := x.attempt(s, ev)
		res.State, res.Effective, res.Note = v.state, v.eff, v.note
		res.At = time.Unix(0, v.at).UTC()
		if v.deadline != 0 {
			res.Deadline = time.Unix(0, v.deadline).UTC()
		}
		res.Attempts = v.n
		if v.state == saga.Conflicting {
			res.Divergent = append(res.Divergent, saga.AttemptName(x.attemptName(s, v)))
		}
		return
	}
	vs := x.verdicts[:0]
	for _, g := range x.byAttempt(ev) {
		vs = append(vs, x.attempt(s, g))
	}
	x.verdicts = vs
	best, bestEff := vs[0], vs[0]
	for _, v := range vs[1:] {
		if stateRank(v.state) > stateRank(best.state) {
			best = v
		}
		if stateRank(v.eff) > stateRank(bestEff.eff) {
			bestEff = v
		}
	}
	res.State, res.Effective, res.Note = best.state, bestEff.eff, best.note
	res.At = time.Unix(0, best.at).UTC()
	if best.deadline != 0 {
		res.Deadline = time.Unix(0, best.deadline).UTC()
	}
	for _, v := range vs {
		res.Attempts += v.n
		if v.state == saga.Conflicting {
			res.Divergent = append(res.Divergent, saga.AttemptName(x.attemptName(s, v)))
		}
		if v.state == saga.Unknown && (res.State == saga.Succeeded || res.State == saga.Conflicting) {
			res.UnknownAttempts = append(res.UnknownAttempts, saga.AttemptName(x.attemptName(s, v)))
		}
	}
}

// attemptName is the value of an attempt's key ("" without one).
func (x *inferer) attemptName(s *rules.Step, v verdict) string {
	if s.AttemptType < 0 {
		return ""
	}
	key, _ := x.r.Store.KeyOf(v.first, s.AttemptType)
	return key
}

// byAttempt groups a step's evidence by attempt key, the groups in order of
// first appearance, each in evidence order. Usually there is one attempt;
// an instance may have thousands (a key value shared by many records
// links them), so grouping takes one pass, never one per attempt.
func (x *inferer) byAttempt(ev []evid) [][]evid {
	x.attempts = x.attempts[:0]
	if !severalAttempts(ev) {
		return append(x.attempts, ev)
	}
	group := map[attemptKey]int{}
	var sizes []int
	idx := make([]int, len(ev))
	for i, e := range ev {
		g, ok := group[e.attempt]
		if !ok {
			g = len(sizes)
			group[e.attempt] = g
			sizes = append(sizes, 0)
		}
		idx[i] = g
		sizes[g]++
	}
	sorted := make([]evid, len(ev))
	start := make([]int, len(sizes))
	for g := 1; g < len(sizes); g++ {
		start[g] = start[g-1] + sizes[g-1]
	}
	for g := range sizes {
		x.attempts = append(x.attempts, sorted[start[g]:start[g]:start[g]+sizes[g]])
	}
	for i, e := range ev {
		x.attempts[idx[i]] = append(x.attempts[idx[i]], e)
	}
	return x.attempts
}

// severalAttempts reports whether a step's evidence holds more than one
// attempt key (byAttempt would make several groups).
func severalAttempts(ev []evid) bool {
	key := ev[0].attempt
	for i := 1; i < len(ev); i++ {
		if ev[i].attempt != key {
			return true
		}
	}
	return false
}

// stateRank orders attempt states: the step takes the state of its
// highest-ranked attempt (a conflict beats a success, a success beats a
// pending retry, ...).
func stateRank(s saga.State) int {
	switch s {
	case saga.Conflicting:
		return 6
	case saga.Succeeded:
		return 5
	case saga.Requested:
		return 4
	case saga.Unknown:
		return 3
	case saga.Overdue:
		return 2
	case saga.Failed:
		return 1
	}
	return 0
}

// attempt judges the evidence of one attempt (all evidence when the step
// has no attempt key).
func (x *inferer) attempt(s *rules.Step, ev []evid) verdict {
	v := verdict{first: ev[0].id}
	var succBuf, failBuf [4]record.Sym
	succ, fail := succBuf[:0], failBuf[:0] // sources, dead letters excluded from fail
	var firstSucc, firstFail, lastFail, firstReq, lastReq int64
	var hasSucc, hasFail, hasUnknown, hasReq bool
	var reqs, fails int
	var outcomes [4]struct { // outcome records per source (few sources per step)
		src record.Sym
		n   int
	}
	count := func(src record.Sym) {
		for i := range outcomes {
			if outcomes[i].n == 0 || outcomes[i].src == src {
				outcomes[i].src = src
				outcomes[i].n++
				return
			}
		}
		outcomes[len(outcomes)-1].n++
	}
	for i := range ev {
		e := &ev[i]
		if e.dup {
			continue
		}
		switch e.role {
		case saga.RoleSucceeded:
			hasSucc = true
			count(e.src)
			if !slices.Contains(succ, e.src) {
				succ = append(succ, e.src)
			}
			if firstSucc == 0 || e.t < firstSucc {
				firstSucc = e.t
			}
		case saga.RoleFailed:
			hasFail = true
			count(e.src)
			if !e.dead && !slices.Contains(fail, e.src) {
				fail = append(fail, e.src)
			}
			fails++
			if e.t > lastFail {
				lastFail = e.t
			}
			if firstFail == 0 || e.t < firstFail {
				firstFail = e.t
			}
		case saga.RoleUnknown, saga.RoleRequested:
			if e.role == saga.RoleUnknown {
				hasUnknown = true
			} else {
				hasReq = true
				reqs++
			}
			if firstReq == 0 || e.t < firstReq {
				firstReq = e.t
			}
			if e.t > lastReq {
				lastReq = e.t
			}
		}
	}
	v.n = 1
	if s.AttemptType < 0 {
		// Without attempt keys: as many attempts as requests, or as outcomes
		// one source reports (two sources reporting one success are one).
		v.n = max(reqs, 1)
		for _, o := range outcomes {
			v.n = max(v.n, o.n)
		}
	}
	var failOnly []record.Sym
	for _, f := range fail {
		if !slices.Contains(succ, f) {
			failOnly = append(failOnly, f)
		}
	}
	st := x.r.Store
	switch {
	case len(succ) > 0 && len(failOnly) > 0:
		v.state, v.eff, v.at = saga.Conflicting, saga.Unknown, firstSucc
		v.note = fmt.Sprintf("%s says succeeded, %s says failed", symNames(st, succ), symNames(st, failOnly))
		if s.Authority != "" {
			if a, ok := st.Sym(s.Authority); ok {
				if slices.Contains(succ, a) {
					v.eff = saga.Succeeded
				} else if slices.Contains(failOnly, a) {
					v.eff = saga.Failed
				}
			}
			if v.eff != saga.Unknown {
				v.note += fmt.Sprintf("; %s (the authority) wins", s.Authority)
			}
		}
		return v
	case hasSucc:
		v.state, v.eff, v.at = saga.Succeeded, saga.Succeeded, firstSucc
		return v
	case hasFail && !(hasReq && lastReq > lastFail) && !s.Retriable:
		v.state, v.eff, v.at = saga.Failed, saga.Failed, lastFail
		return v
	}
	// Requested (or timed out, or failed and to be retried) with no outcome yet.
	start := firstReq
	retried := ""
	switch {
	case hasFail && s.Retriable:
		start = firstFail
		if firstReq != 0 && firstReq < start {
			start = firstReq
		}
		retried = fmt.Sprintf("%d failed attempt(s), to be retried; ", fails)
	case hasFail:
		start = lastReq // a retry after the last failure
	}
	v.at = start
	v.deadline = start + s.SLA.Nanoseconds()
	deadline := time.Unix(0, v.deadline).UTC()
	v.state, v.eff = saga.Requested, saga.Requested
	if x.r.In.AsOf.Before(deadline) {
		v.note = retried + "within SLA until " + deadline.Format(time.RFC3339)
		return v
	}
	kinds, anyKind := s.OutcomeKinds()
	if gap := x.r.cov.gap(kinds, anyKind, deadline); gap != "" {
		v.note = retried + "past SLA, but " + gap
		return v
	}
	if hasUnknown && !hasFail {
		v.state, v.eff = saga.Unknown, saga.Unknown
		v.note = "timed out; no source shows an outcome by " + deadline.Format(time.RFC3339)
		return v
	}
	v.state, v.eff = saga.Overdue, saga.Overdue
	v.note = retried + "no success by " + deadline.Format(time.RFC3339)
	return v
}

func symNames(st *record.Store, syms []record.Sym) string {
	out := ""
	for i, s := range syms {
		if i > 0 {
			out += ", "
		}
		out += st.SymName(s)
	}
	return out
}

// uncovered reports whether a step's evidence could be missing only
// because a source did not cover the time t.
func (x *inferer) uncovered(i int, t time.Time) bool {
	kinds, anyKind := x.r.Model.Steps[i].EvidenceKinds()
	return x.r.cov.gap(kinds, anyKind, t) != ""
}

// skipped marks steps that a later step went past: failed, or without
// evidence in sources that covered the time.
func (x *inferer) skipped(steps []saga.StepResult) {
	m := x.r.Model
	for i := range steps {
		res := &steps[i]
		if res.State != saga.Failed && res.State != saga.NotSeen {
			continue
		}
		laterAt := time.Time{}
		for j := i + 1; j < len(steps); j++ {
			if steps[j].Effective == saga.Succeeded {
				laterAt = steps[j].At
				break
			}
		}
		if laterAt.IsZero() {
			continue
		}
		if res.State == saga.Failed {
			res.Skipped = true
			continue
		}
		kinds, anyKind := m.Steps[i].EvidenceKinds()
		if gap := x.r.cov.gap(kinds, anyKind, laterAt); gap != "" {
			res.Note = "no evidence, but " + gap
			continue
		}
		res.Skipped = true
		res.Note = "no evidence, yet a later step succeeded at " + laterAt.Format(time.RFC3339)
	}
}

// pending makes a step without evidence pending once the step before it
// succeeded — or, for the first step, once the instance began — and nothing
// later has evidence: overdue past its SLA.
func (x *inferer) pending(steps []saga.StepResult, start time.Time) {
	m := x.r.Model
	asOf := x.r.In.AsOf
	for i := range steps {
		res := &steps[i]
		if res.State != saga.NotSeen || i > 0 && steps[i-1].Effective != saga.Succeeded {
			continue
		}
		later := false
		for j := i + 1; j < len(steps); j++ {
			later = later || steps[j].State != saga.NotSeen
		}
		if later {
			continue
		}
		since, after := start, "the instance began"
		if i > 0 {
			since, after = steps[i-1].At, steps[i-1].Name+" succeeded"
		}
		deadline := since.Add(m.Steps[i].SLA)
		res.Deadline = deadline
		res.At = since
		res.State, res.Effective = saga.Requested, saga.Requested
		if asOf.Before(deadline) {
			res.Note = fmt.Sprintf("expected by %s (%s at %s)", deadline.Format(time.RFC3339), after, since.Format(time.RFC3339))
			continue
		}
		kinds, anyKind := m.Steps[i].OutcomeKinds()
		if gap := x.r.cov.gap(kinds, anyKind, deadline); gap != "" {
			res.Note = "past SLA, but " + gap
			continue
		}
		res.State, res.Effective = saga.Overdue, saga.Overdue
		res.Note = fmt.Sprintf("no evidence since %s at %s", after, since.Format(time.RFC3339))
	}
}

// comp judges the compensation of a succeeded step after the instance
// failed at failAt.
func (x *inferer) comp(c *rules.Comp, ev []evid, failAt time.Time) saga.CompResult {
	res := saga.CompResult{Name: c.Name, For: c.For.Name, Evidence: toEvidence(ev)}
	asOf := x.r.In.AsOf
	var firstSucc, lastFail, firstReq, lastReq int64
	for _, e := range ev {
		switch e.role {
		case saga.RoleSucceeded:
			if firstSucc == 0 || e.t < firstSucc {
				firstSucc = e.t
			}
		case saga.RoleFailed:
			lastFail = max(lastFail, e.t)
		default:
			if firstReq == 0 || e.t < firstReq {
				firstReq = e.t
			}
			lastReq = max(lastReq, e.t)
		}
	}
	kinds, anyKind := c.EvidenceKinds()
	switch {
	case firstSucc != 0:
		res.State, res.At = saga.Compensated, time.Unix(0, firstSucc).UTC()
		return res
	case lastFail != 0 && lastReq <= lastFail:
		res.State, res.At = saga.CompensationFailed, time.Unix(0, lastFail).UTC()
		return res
	case firstReq != 0:
		start := firstReq
		if lastFail != 0 {
			start = lastReq
		}
		res.At = time.Unix(0, start).UTC()
		res.Deadline = res.At.Add(c.SLA)
		res.State = saga.Compensating
		if asOf.Before(res.Deadline) {
			res.Note = "within SLA until " + res.Deadline.Format(time.RFC3339)
			return res
		}
		if gap := x.r.cov.gap(kinds, anyKind, res.Deadline); gap != "" {
			res.Note = "past SLA, but " + gap
			return res
		}
		res.State = saga.CompensationStalled
		res.Note = "requested, not done by " + res.Deadline.Format(time.RFC3339)
		return res
	}
	res.State = saga.CompensationRequired
	res.Deadline = failAt.Add(c.SLA)
	if asOf.Before(res.Deadline) {
		res.Note = "due by " + res.Deadline.Format(time.RFC3339)
		return res
	}
	if gap := x.r.cov.gap(kinds, anyKind, res.Deadline); gap != "" {
		res.Note = "overdue, but " + gap
		return res
	}
	res.Late = true
	res.Note = "not done by " + res.Deadline.Format(time.RFC3339)
	return res
}
