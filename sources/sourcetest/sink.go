// Package sourcetest is the conformance suite every source type passes:
// records and their fields, provenance, coverage, bad input counted with
// its location, strict mode, cancellation and streaming. A source's test
// calls Run with a Harness that stores rows in its medium (a file, a table,
// a topic) and builds a source reading them.
//
// It also offers Sink, a sources.Sink that keeps what a source writes, for
// any source test.
package sourcetest

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
)

// Bad is one bad input a source reported.
type Bad struct {
	At  record.Provenance
	Err error
}

// Sink collects what a source writes. OnRecord and OnBad, when set, run on
// each (with the sink unlocked) and may return an error to stop the source.
// Discard drops records after counting them (for big reads).
type Sink struct {
	OnRecord func(n int, r *record.Record) error
	OnBad    func(b Bad) error
	Discard  bool

	mu       sync.Mutex
	Records  []record.Record
	Bads     []Bad
	Filtered int
	N        int // records written
	writers  int
	closed   int
}

// Writer implements sources.Sink.
func (s *Sink) Writer() sources.Writer {
	s.mu.Lock()
	s.writers++
	s.mu.Unlock()
	return &writer{s: s}
}

// Unclosed returns how many writers were not closed.
func (s *Sink) Unclosed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writers - s.closed
}

// ByKey returns the records carrying key typ=value.
func (s *Sink) ByKey(typ, value string) []record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []record.Record
	for _, r := range s.Records {
		if v, ok := r.Key(typ); ok && v == value {
			out = append(out, r)
		}
	}
	return out
}

type writer struct {
	s      *Sink
	closed bool
}

// Copy returns a deep copy of r: a source may reuse r and its strings.
func Copy(r *record.Record) record.Record {
	c := *r
	c.Kind, c.Status, c.Currency = strings.Clone(r.Kind), strings.Clone(r.Status), strings.Clone(r.Currency)
	c.Keys = cloneKVs(r.Keys)
	c.Attrs = cloneKVs(r.Attrs)
	c.Prov.Loc, c.Prov.Key, c.Prov.Source = strings.Clone(r.Prov.Loc), strings.Clone(r.Prov.Key), strings.Clone(r.Prov.Source)
	return c
}

func cloneKVs(kvs []record.KV) []record.KV {
	out := slices.Clone(kvs)
	for i := range out {
		out[i] = record.KV{Name: strings.Clone(out[i].Name), Value: strings.Clone(out[i].Value)}
	}
	return out
}

func (w *writer) Record(r *record.Record) error {
	w.s.mu.Lock()
	w.s.N++
	n := w.s.N
	if !w.s.Discard {
		w.s.Records = append(w.s.Records, Copy(r))
	}
	w.s.mu.Unlock()
	if w.s.OnRecord != nil {
		return w.s.OnRecord(n, r)
	}
	return nil
}

func (w *writer) Bad(at record.Provenance, err error) error {
	b := Bad{At: at, Err: err}
	b.At.Loc, b.At.Key = strings.Clone(at.Loc), strings.Clone(at.Key)
	w.s.mu.Lock()
	w.s.Bads = append(w.s.Bads, b)
	w.s.mu.Unlock()
	if w.s.OnBad != nil {
		return w.s.OnBad(b)
	}
	return nil
}

func (w *writer) Filtered(n int) {
	w.s.mu.Lock()
	w.s.Filtered += n
	w.s.mu.Unlock()
}

func (w *writer) Close() {
	if w.closed {
		return
	}
	w.closed = true
	w.s.mu.Lock()
	w.s.closed++
	w.s.mu.Unlock()
}

// CountSink counts records and keeps nothing, with no lock per record:
// for benchmarks, where the sink must cost next to nothing.
type CountSink struct {
	n atomic.Int64
}

// N returns the records written by closed writers.
func (s *CountSink) N() int { return int(s.n.Load()) }

// Writer implements sources.Sink.
func (s *CountSink) Writer() sources.Writer { return &countWriter{s: s} }

type countWriter struct {
	s *CountSink
	n int64
}

func (w *countWriter) Record(*record.Record) error        { w.n++; return nil }
func (w *countWriter) Bad(record.Provenance, error) error { return nil }
func (w *countWriter) Filtered(int)                       {}
func (w *countWriter) Close()                             { w.s.n.Add(w.n); w.n = 0 }
