// Package record holds the normalized observation that every source produces
// and the compact in-memory store the rest of the pipeline reads from.
//
// A Record is the wide, transient form a source fills and hands to a Writer;
// its strings may point into the source's read buffer, so a Writer copies
// what it keeps. The Store keeps records compactly (interned symbols, one
// arena for attribute values, key values interned once per key type) so that
// millions of records fit in little memory.
package record

import (
	"cmp"
	"strconv"
	"strings"
	"time"
)

// Style says how a provenance position is written.
type Style uint8

const (
	// StyleLine is file:line.
	StyleLine Style = iota
	// StyleOffset is topic/partition@offset.
	StyleOffset
	// StyleKey is table#primary-key.
	StyleKey
)

// Provenance says exactly where a record came from.
type Provenance struct {
	Source string // configured source name
	Loc    string // file path, table or query name, topic/partition
	Pos    int64  // line number or offset
	Key    string // primary key, for StyleKey
	Style  Style
}

// String renders the provenance the way reports show it:
// provider:charges.csv:1187, shopdb:orders#8812, events:orders.dlq/0@5521.
func (p Provenance) String() string {
	var b strings.Builder
	b.Grow(len(p.Source) + len(p.Loc) + len(p.Key) + 24)
	b.WriteString(p.Source)
	b.WriteByte(':')
	b.WriteString(p.Loc)
	switch p.Style {
	case StyleLine:
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(p.Pos, 10))
	case StyleOffset:
		b.WriteByte('@')
		b.WriteString(strconv.FormatInt(p.Pos, 10))
	case StyleKey:
		b.WriteByte('#')
		b.WriteString(p.Key)
	}
	return b.String()
}

// Compare orders provenances by where they point: source, location, then
// the line or offset, or for StyleKey the primary key (a query's row
// number, kept in Pos, depends on the order the database returned the
// rows in, so it only separates rows with one key).
func (p Provenance) Compare(q Provenance) int {
	if c := strings.Compare(p.Source, q.Source); c != 0 {
		return c
	}
	if c := strings.Compare(p.Loc, q.Loc); c != 0 {
		return c
	}
	if p.Style == StyleKey && q.Style == StyleKey {
		if c := strings.Compare(p.Key, q.Key); c != 0 {
			return c
		}
		return cmp.Compare(p.Pos, q.Pos)
	}
	if c := cmp.Compare(p.Pos, q.Pos); c != 0 {
		return c
	}
	return strings.Compare(p.Key, q.Key)
}

// KV is one named value: a business key (name is the key type) or an attribute.
type KV struct {
	Name  string
	Value string
}

// Record is one normalized observation from one source.
type Record struct {
	Kind      string
	Status    string
	Time      time.Time
	Amount    int64 // integer minor units
	HasAmount bool
	Currency  string
	Keys      []KV // key type -> value; empty values are not keys
	Attrs     []KV
	Prov      Provenance
}

// Reset clears r for reuse, keeping the capacity of its slices.
func (r *Record) Reset() {
	keys, attrs := r.Keys[:0], r.Attrs[:0]
	*r = Record{Keys: keys, Attrs: attrs}
}

// Key returns the value of the key of the given type.
func (r *Record) Key(typ string) (string, bool) {
	for _, k := range r.Keys {
		if k.Name == typ {
			return k.Value, true
		}
	}
	return "", false
}

// Attr returns the named attribute, or "".
func (r *Record) Attr(name string) string {
	for _, a := range r.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// KindDeadLetter is the kind of a dead-lettered message.
const KindDeadLetter = "dead_letter"
