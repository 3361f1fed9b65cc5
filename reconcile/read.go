package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/shard"
	"github.com/vitals-dev/vitals/sources"
)

// SourceReport says what one source read and how far it got.
type SourceReport struct {
	Name          string
	Type          string
	Records       int // records kept
	Filtered      int // rows a mapping's `when` excluded
	OutsideWindow int // records after as_of
	Bad           int // input that could not become a record
	BadList       []BadInput
	Coverage      sources.Coverage
	Err           error
	// Pushdown: the source read only the shard's part (sharded runs).
	Pushdown bool
	// Unrooted and UnrootedOutside count the records (kept, and after
	// as_of) that carry no root key; counted in sharded runs only, where
	// every shard reads them.
	Unrooted, UnrootedOutside int
	// Kinds are the record kinds the source can produce ("event:*" is a
	// prefix, "*" any kind).
	Kinds []string
}

// Options tune how a run reads.
type Options struct {
	Strict bool
	// Progress, if set, receives a status line about twice a second while
	// sources are read (a terminal on stderr).
	Progress io.Writer
	// Workers bounds evaluation parallelism (default GOMAXPROCS).
	Workers int
	// Log receives debug lines: what each phase took. Nil: slog.Default().
	Log *slog.Logger
	// Shard, when on, makes the run audit only the instances (and orphan
	// groups) it owns; see package shard. Sources that push the filter
	// down read less; the others read everything.
	Shard shard.Spec
}

// Run reads every source and links the records into instances. A source
// that fails does not fail the run: its report carries the error and the
// result is incomplete. Cancellation and strict-mode bad input do fail it.
func Run(ctx context.Context, in *Input, opts Options) (*Result, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	store := record.NewStore(in.KeyTypes, internedTypes(in))
	res := &Result{In: in, Store: store, Model: in.Model, opts: opts, Complete: true}
	sinks := make([]*sink, len(in.Sources))
	res.Sources = make([]SourceReport, len(in.Sources))
	for i, s := range in.Sources {
		sinks[i] = &sink{name: s.Name, store: store, strict: opts.Strict, asOf: in.AsOf}
		res.Sources[i] = SourceReport{Name: s.Name, Type: s.Type, Kinds: kindsOf(s.Source)}
		if opts.Shard.On() {
			sinks[i].root = in.Model.Root
			if p, ok := s.Source.(sources.Sharder); ok && p.Pushdown() {
				res.Sources[i].Pushdown = true
			}
		}
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := startProgress(opts.Progress, in.Sources, sinks)
	var wg sync.WaitGroup
	var strictErr error
	var mu sync.Mutex
	w := in.readWindow()
	if opts.Shard.On() {
		w.Shard = sources.Shard{Spec: opts.Shard, Root: in.Model.Root}
	}
	for i, s := range in.Sources {
		wg.Add(1)
		go func(i int, s SourceSpec) {
			defer wg.Done()
			t0 := time.Now()
			cov, err := s.Source.Read(ctx, w, sinks[i])
			sinks[i].finish(err)
			log.Debug("source read", "source", s.Name, "records", sinks[i].progress.Load(), "took", time.Since(t0).Round(time.Millisecond), "error", err)
			rep := &res.Sources[i]
			rep.Coverage = cov
			if err != nil {
				var se *StrictError
				if errors.As(err, &se) {
					mu.Lock()
					if strictErr == nil {
						strictErr = err
					}
					mu.Unlock()
					cancel()
				}
				rep.Err = err
				rep.Coverage.Complete = false
			}
		}(i, s)
	}
	wg.Wait()
	stop()
	if strictErr != nil {
		return nil, &SourceError{Errs: []error{strictErr}}
	}
	if err := parent.Err(); err != nil {
		return nil, err
	}
	for i, s := range sinks {
		s.trimBad()
		rep := &res.Sources[i]
		rep.Records, rep.Filtered, rep.OutsideWindow, rep.Bad, rep.BadList = s.records, s.filtered, s.outside, s.bad, s.badList
		rep.Unrooted, rep.UnrootedOutside = s.unrooted, s.unrootedOutside
		if rep.Err != nil {
			res.Complete = false
		}
	}
	store.Seal()
	log.Debug("read all sources", "heap", heapInUse(), "records", store.Len(), "keys", store.NumKeys(), "store_bytes", store.Memory(), "took", time.Since(start).Round(time.Millisecond))
	t0 := time.Now()
	if err := res.correlate(ctx); err != nil {
		return nil, err
	}
	log.Debug("correlated", "components", len(res.comps), "took", time.Since(t0).Round(time.Millisecond), "heap", heapInUse())
	return res, nil
}

// SourceError reports sources that failed.
type SourceError struct {
	Errs []error
}

func (e *SourceError) Error() string {
	var parts []string
	for _, err := range e.Errs {
		parts = append(parts, err.Error())
	}
	return strings.Join(parts, "; ")
}

func (e *SourceError) Unwrap() []error { return e.Errs }

// Failed returns an error naming each source that failed, or nil.
func (r *Result) Failed() error {
	var errs []error
	for _, s := range r.Sources {
		if s.Err != nil {
			errs = append(errs, fmt.Errorf("source %q (%s): %w", s.Name, s.Type, s.Err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &SourceError{Errs: errs}
}

// KindLister is implemented by sources that know which kinds they emit.
type KindLister interface {
	Kinds() []string
}

func kindsOf(s sources.Source) []string {
	if kl, ok := s.(KindLister); ok {
		return kl.Kinds()
	}
	return []string{"*"}
}

func human(n int64) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// heapInUse reports the Go heap in use, for the debug log.
func heapInUse() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("%dMiB (peak sys %dMiB)", ms.HeapInuse>>20, ms.Sys>>20)
}

// KeyLister is implemented by sources that know which key types each of
// their record mappings gives its records.
type KeyLister interface {
	KeyTypesByMapping() [][]string
}

// internedTypes says which key types the store interns: the linking ones,
// but for those whose values are expected to be nearly all seen once —
// the delivery key (event ids), and a type only one record mapping of all
// sources carries (a payment intent on the provider's charges, an invoice
// id on one event). Correlation joins the few shared values of those
// after reading (joinInline), which costs less than interning millions
// of values while reading. Either way the same records link; the root
// type is always interned.
func internedTypes(in *Input) []bool {
	out := slices.Clone(in.Links)
	if d := in.Model.DeliveryType; d >= 0 && d != in.Model.RootType {
		out[d] = false
	}
	mappings := make([]int, len(in.KeyTypes))
	for _, s := range in.Sources {
		kl, ok := s.Source.(KeyLister)
		if !ok {
			return out // a source that cannot say: intern the rest
		}
		for _, types := range kl.KeyTypesByMapping() {
			for _, t := range types {
				if i := slices.Index(in.KeyTypes, t); i >= 0 {
					mappings[i]++
				}
			}
		}
	}
	for i, n := range mappings {
		if n <= 1 && i != in.Model.RootType {
			out[i] = false
		}
	}
	return out
}
