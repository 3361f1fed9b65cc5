package doctor

import (
	"sync"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
)

// bad is one input the mapping rejected.
type bad struct {
	At  record.Provenance
	Err error
}

// sink counts what a source reads and keeps the first samples and bad
// inputs by location.
type sink struct {
	mu       sync.Mutex
	onRecord func(r *record.Record) // called with mu held
	bads     []bad
	filtered int
}

func (s *sink) Writer() sources.Writer { return &writer{s: s} }

type writer struct{ s *sink }

func (w *writer) Record(r *record.Record) error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.onRecord(r)
	return nil
}

func (w *writer) Bad(at record.Provenance, err error) error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	at.Loc, at.Key = clone(at.Loc), clone(at.Key)
	w.s.bads = append(w.s.bads, bad{At: at, Err: err})
	return nil
}

func (w *writer) Filtered(n int) {
	w.s.mu.Lock()
	w.s.filtered += n
	w.s.mu.Unlock()
}

func (w *writer) Close() {}

func clone(s string) string { return string([]byte(s)) }

// copyRecord returns a deep copy of r: a source may reuse r's memory.
func copyRecord(r *record.Record) record.Record {
	c := *r
	c.Kind, c.Status, c.Currency = clone(r.Kind), clone(r.Status), clone(r.Currency)
	c.Prov.Loc, c.Prov.Key = clone(r.Prov.Loc), clone(r.Prov.Key)
	c.Keys = copyKVs(r.Keys)
	c.Attrs = copyKVs(r.Attrs)
	return c
}

func copyKVs(kvs []record.KV) []record.KV {
	out := make([]record.KV, len(kvs))
	for i, kv := range kvs {
		out[i] = record.KV{Name: clone(kv.Name), Value: clone(kv.Value)}
	}
	return out
}
