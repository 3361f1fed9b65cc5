package reconcile

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/saga"
)

// Result is a run after reading and correlating: the records, what each
// source covered, and the instances, evaluated on demand.
type Result struct {
	In       *Input
	Store    *record.Store
	Model    *rules.Model
	Sources  []SourceReport
	Complete bool // every source read completely

	opts    Options
	members []record.ID
	comps   []comp
	// multiRoot holds the root values of the few components that link
	// several (by component index).
	multiRoot map[int][]string
	cov       *coverage
	owned     []int32 // sharded runs: the components this shard evaluates
	// spare holds instance blocks EachTransient's consumer is done with.
	spare sync.Pool
}

// Len returns the number of components: instances and orphan groups.
func (r *Result) Len() int { return len(r.comps) }

func (r *Result) evaluate(x *inferer, i int) (*saga.Instance, error) {
	in, err := x.instance(i)
	if err != nil {
		return nil, err
	}
	in.Findings = x.judge.Judge(in, x.kinds)
	return in, nil
}

const batchSize = 256

// Each evaluates every instance and orphan group, in parallel, and calls fn
// with each in order: instances by root, then orphans. fn runs on one
// goroutine; returning an error stops the iteration. In a sharded run it
// evaluates only the components the shard owns (see Owned).
func (r *Result) Each(ctx context.Context, fn func(*saga.Instance) error) error {
	return r.each(ctx, fn, false)
}

// EachTransient is Each for a consumer that copies what it keeps: once fn
// returns, the instance and its step results (with everything they hold)
// are reused for later instances, which spares the collector a gigabyte
// of them at a million instances. Findings are never reused.
func (r *Result) EachTransient(ctx context.Context, fn func(*saga.Instance) error) error {
	return r.each(ctx, fn, true)
}

func (r *Result) each(ctx context.Context, fn func(*saga.Instance) error, reuse bool) error {
	if r.cov == nil {
		r.cov = newCoverage(r.Sources)
	}
	comp := r.ownedIndex()
	total := len(r.comps)
	if comp != nil {
		total = len(comp)
	}
	workers := r.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nb := (total + batchSize - 1) / batchSize
	results := make([]chan batchResult, nb)
	for i := range results {
		results[i] = make(chan batchResult, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel() // unblocks the producer and the workers
		wg.Wait()
	}()
	window := make(chan struct{}, 4*workers) // bounds batches held in memory
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for b := 0; b < nb; b++ {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := r.newInferer()
			for b := range jobs {
				var br batchResult
				end := min((b+1)*batchSize, total)
				for i := b * batchSize; i < end && br.err == nil; i++ {
					c := i
					if comp != nil {
						c = int(comp[i])
					}
					in, err := r.evaluate(x, c)
					br.err = err
					br.ins = append(br.ins, in)
					if reuse && err == nil {
						br.blks = append(br.blks, x.blk)
					}
				}
				results[b] <- br
			}
		}()
	}
	for b := 0; b < nb; b++ {
		var br batchResult
		select {
		case br = <-results[b]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-window
		if br.err != nil {
			return br.err
		}
		for i, in := range br.ins {
			if err := fn(in); err != nil {
				return err
			}
			if reuse {
				r.spare.Put(br.blks[i])
			}
		}
	}
	return nil
}

type batchResult struct {
	ins  []*saga.Instance
	blks []*instanceBlock // with reuse: the block of each instance
	err  error
}

// Find returns the instances (or orphan groups) holding a record with the
// given key value, of any key type, or of one type when written type:value.
func (r *Result) Find(key string) ([]*saga.Instance, error) {
	if r.cov == nil {
		r.cov = newCoverage(r.Sources)
	}
	st := r.Store
	types := st.KeyTypes()
	want := func(typ int, v string) bool {
		if p, rest, ok := strings.Cut(key, ":"); ok && slices.Contains(types, p) {
			return types[typ] == p && v == rest
		}
		return v == key
	}
	var comps []int
	for c := range r.comps {
		for _, id := range r.members[r.comps[c].off : r.comps[c].off+r.comps[c].n] {
			hit := false
			st.KeyValues(id, func(typ int, v string) {
				hit = hit || want(typ, v)
			})
			if hit {
				comps = append(comps, c)
				break
			}
		}
	}
	x := r.newInferer()
	var out []*saga.Instance
	for _, c := range comps {
		in, err := r.evaluate(x, c)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}
