// Package sources defines what a source of evidence is: something that
// streams normalized records into a Sink and reports what it covered.
// Each source type lives in its own package and is listed in an explicit
// Registry (see package sources/all).
package sources

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/shard"
)

// Window is the time range a run asks sources to read. Sources that can
// filter at the source (SQL, Kafka timestamps) read only what falls inside;
// the Sink drops and counts records after Until in any case.
type Window struct {
	Since time.Time // zero: from the beginning
	Until time.Time // the run's as_of
	// Shard, when on, is the part of the run being audited. A source
	// configured to push it down (see Sharder) reads only the records
	// whose root key hashes to the shard, plus every record without a
	// root key; other sources ignore it and read everything.
	Shard Shard
}

// Shard is the shard a run audits and the key type that names instances
// (the process root, the shard key).
type Shard struct {
	shard.Spec
	Root string
}

// Sharder is implemented by sources that can push a shard filter down
// into what they read. Pushdown reports whether this source is configured
// to do so; a run records it, because a report merge treats such a
// source's counts and orphans differently.
type Sharder interface {
	Pushdown() bool
}

// Coverage is the time range a source actually covered, and whether the
// read completed. Nothing is called missing from a source outside its
// coverage.
type Coverage struct {
	Since    time.Time
	Until    time.Time
	Complete bool
}

// Covers reports whether the source's coverage includes t.
func (c Coverage) Covers(t time.Time) bool {
	return c.Complete && !t.Before(c.Since) && !t.After(c.Until)
}

// Source reads records from one configured system.
type Source interface {
	// Read streams the records in w into sink and returns the coverage it
	// achieved. A returned error means the read did not complete; the
	// coverage then says how far it got. Bad input is not an error: it goes
	// to the sink and the read goes on.
	Read(ctx context.Context, w Window, sink Sink) (Coverage, error)
}

// Sink receives what a source reads. It is safe for concurrent use; each
// goroutine of a source takes its own Writer.
type Sink interface {
	Writer() Writer
}

// Writer receives the records and the bad input of one stream of a source.
type Writer interface {
	// Record stores r (copying what it keeps). A non-nil error means stop
	// reading: the run was cancelled or strict mode met bad input.
	Record(r *record.Record) error
	// Bad counts and lists input that could not become a record. A non-nil
	// error means stop reading (strict mode).
	Bad(at record.Provenance, err error) error
	// Filtered counts input a mapping's `when` condition excluded on purpose.
	Filtered(n int)
	// Close flushes the writer.
	Close()
}

// Config is what a source factory gets: the source's name and type, the
// directory relative paths are resolved against, the declared key types,
// the search-only ones among them, and the source's own settings, still
// undecoded.
type Config struct {
	Name     string
	Type     string
	Dir      string
	KeyTypes []string
	// SearchKeys are the key types that only find instances (keys.search).
	SearchKeys []string
	Raw        map[string]any
}

// Factory builds sources of one type. New decodes and validates the
// settings and must do no I/O: connecting and reading happen in Read.
type Factory struct {
	Type string
	New  func(cfg Config) (Source, error)
}

// Registry lists the source types a binary knows.
type Registry struct {
	byType map[string]Factory
}

// NewRegistry returns a registry of the given factories.
func NewRegistry(fs ...Factory) *Registry {
	r := &Registry{byType: map[string]Factory{}}
	for _, f := range fs {
		if _, dup := r.byType[f.Type]; dup {
			panic("sources: type registered twice: " + f.Type)
		}
		r.byType[f.Type] = f
	}
	return r
}

// Types returns the registered type names, sorted.
func (r *Registry) Types() []string {
	var ts []string
	for t := range r.byType {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// ErrUnknownType is returned for a source type no factory serves.
var ErrUnknownType = errors.New("unknown source type")

// New builds the source cfg describes.
func (r *Registry) New(cfg Config) (Source, error) {
	f, ok := r.byType[cfg.Type]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownType, cfg.Type, r.Types())
	}
	return f.New(cfg)
}
