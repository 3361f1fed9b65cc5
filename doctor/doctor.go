// Package doctor checks each configured source before a real run: can it
// connect, how many records does it read and how many fall in the window,
// what do a few mapped records look like, and which input does the mapping
// reject. `vitals doctor` prints its report.
package doctor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
)

// Checker is implemented by sources that can test their connection
// without reading (postgres, kafka).
type Checker interface {
	Check(ctx context.Context) error
}

// Endpointer is implemented by sources that can say where they connect,
// without secrets.
type Endpointer interface {
	Endpoint() string
}

// Options tune a check.
type Options struct {
	Samples int      // mapped records shown per source
	Errors  int      // bad inputs listed per source (default 5)
	Only    []string // check only these sources (default all)
}

// Result is what doctor found about one source.
type Result struct {
	Name, Type, Endpoint string
	Connect              error // nil: connected (or the source has no separate check)
	Connected            bool  // a connection check ran and succeeded
	ConnectTook          time.Duration
	Read                 error
	ReadTook             time.Duration
	Records              int // mapped records read
	InWindow             int // of them, with a time inside the judged window
	AfterAsOf            int // of them, after as_of (a run ignores them)
	Filtered             int
	Bad                  int
	Errors               []bad           // the first, by location
	Samples              []record.Record // the first, by location
	Coverage             sources.Coverage
	// ByKind counts the records read by kind; Kinds lists the kinds the
	// source's mappings can produce ("prefix*" for a kind read from a
	// field), when it says.
	ByKind map[string]int
	Kinds  []string
}

// Empty lists the kinds the source maps by name but read no record of:
// often a query, status map or when: that matches nothing (a status
// written 'FAILED' where the mapping says 'failed'), though a quiet day
// can do it too.
func (r *Result) Empty() []string {
	var out []string
	for _, k := range r.Kinds {
		if !strings.Contains(k, "*") && r.ByKind[k] == 0 && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// OK reports whether the source connected, read completely, and mapped
// something: a source whose every input fails its mapping is as good as
// a failed one (and a run would judge its evidence as absent).
func (r *Result) OK() bool { return r.Connect == nil && r.Read == nil && !r.NothingMapped() }

// NothingMapped reports a source that read input but could map none of it.
func (r *Result) NothingMapped() bool { return r.Records == 0 && r.Bad > 0 }

// Run checks every source of in, concurrently.
func Run(ctx context.Context, in *reconcile.Input, opts Options) ([]Result, error) {
	if opts.Errors == 0 {
		opts.Errors = 5
	}
	var specs []reconcile.SourceSpec
	for _, s := range in.Sources {
		if len(opts.Only) == 0 || contains(opts.Only, s.Name) {
			specs = append(specs, s)
		}
	}
	for _, name := range opts.Only {
		if !hasSource(in.Sources, name) {
			var names []string
			for _, s := range in.Sources {
				names = append(names, s.Name)
			}
			return nil, fmt.Errorf("no source named %q in the config: use one of %s", name, strings.Join(names, ", "))
		}
	}
	out := make([]Result, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = check(ctx, in, s, opts)
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}

func check(ctx context.Context, in *reconcile.Input, s reconcile.SourceSpec, opts Options) Result {
	r := Result{Name: s.Name, Type: s.Type}
	if e, ok := s.Source.(Endpointer); ok {
		r.Endpoint = e.Endpoint()
	}
	if c, ok := s.Source.(Checker); ok {
		start := time.Now()
		r.Connect = c.Check(ctx)
		r.ConnectTook = time.Since(start)
		r.Connected = r.Connect == nil
		if r.Connect != nil {
			return r
		}
	}
	if kl, ok := s.Source.(reconcile.KindLister); ok {
		r.Kinds = kl.Kinds()
	}
	r.ByKind = map[string]int{}
	sink := &sink{}
	sink.onRecord = func(rec *record.Record) {
		r.Records++
		if n, ok := r.ByKind[rec.Kind]; ok {
			r.ByKind[rec.Kind] = n + 1
		} else {
			r.ByKind[strings.Clone(rec.Kind)] = 1 // rec.Kind may point into a read buffer
		}
		switch {
		case rec.Time.After(in.AsOf):
			r.AfterAsOf++
		case (in.Since.IsZero() || !rec.Time.Before(in.Since)) && rec.Time.Before(in.Until):
			r.InWindow++
		}
		if n := opts.Samples; n > 0 && (len(r.Samples) < n || less(rec.Prov, r.Samples[n-1].Prov)) {
			r.Samples = keepFirst(r.Samples, copyRecord(rec), n)
		}
	}
	start := time.Now()
	r.Coverage, r.Read = s.Source.Read(ctx, in.ReadWindow(), sink)
	r.ReadTook = time.Since(start)
	r.Filtered, r.Bad = sink.filtered, len(sink.bads)
	sort.Slice(sink.bads, func(i, j int) bool { return less(sink.bads[i].At, sink.bads[j].At) })
	r.Errors = sink.bads[:min(len(sink.bads), opts.Errors)]
	return r
}

// keepFirst keeps the n records first by location, so that samples are
// the same whatever order concurrent readers delivered them in.
func keepFirst(list []record.Record, r record.Record, n int) []record.Record {
	i := sort.Search(len(list), func(i int) bool { return less(r.Prov, list[i].Prov) })
	if i >= n {
		return list
	}
	list = append(list, record.Record{})
	copy(list[i+1:], list[i:])
	list[i] = r
	if len(list) > n {
		list = list[:n]
	}
	return list
}

func less(a, b record.Provenance) bool {
	if a.Loc != b.Loc {
		return a.Loc < b.Loc
	}
	if a.Pos != b.Pos {
		return a.Pos < b.Pos
	}
	return a.Key < b.Key
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func hasSource(specs []reconcile.SourceSpec, name string) bool {
	for _, s := range specs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Failed returns an error naming the sources that failed, or nil.
// With strict (--strict, as check takes it), any bad input fails its
// source too: check --strict would stop at it.
func Failed(results []Result, strict bool) error {
	var errs []error
	for _, r := range results {
		switch {
		case r.Connect != nil:
			errs = append(errs, fmt.Errorf("source %q (%s): %w", r.Name, r.Type, r.Connect))
		case r.Read != nil:
			errs = append(errs, fmt.Errorf("source %q (%s): %w", r.Name, r.Type, r.Read))
		case r.NothingMapped():
			errs = append(errs, fmt.Errorf("source %q (%s): %s", r.Name, r.Type, nothingMapped(r)))
		case strict && r.Bad > 0:
			first := ""
			if len(r.Errors) > 0 {
				first = fmt.Sprintf(", the first at %s: %v", r.Errors[0].At, r.Errors[0].Err)
			}
			errs = append(errs, fmt.Errorf("source %q (%s): %d bad input(s)%s; with --strict, check would stop there", r.Name, r.Type, r.Bad, first))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &reconcile.SourceError{Errs: errs}
}

// mask hides the values of masked attributes.
func mask(kvs []record.KV, masked []string) string {
	var parts []string
	for _, kv := range kvs {
		v := kv.Value
		if contains(masked, kv.Name) {
			v = "***"
		}
		parts = append(parts, kv.Name+"="+v)
	}
	return strings.Join(parts, " ")
}

func nothingMapped(r Result) string {
	return fmt.Sprintf("all %d input(s) read failed their mapping, none became a record: fix the mapping (or the data) before a run judges this source's evidence as absent", r.Bad)
}
