package record

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// ID names a record in a sealed Store: 0..Len()-1.
type ID int32

// KeyID names one distinct (key type, value) pair in a sealed Store:
// 0..NumKeys()-1.
type KeyID int32

type keyRef struct {
	typ   uint16
	shard uint16
	local uint32
}

type attrRef struct {
	name Sym
	val  strRef
}

const flagAmount = 1

// rec is the compact form of a Record: no pointers, 64 bytes.
type rec struct {
	time     int64 // unix nanoseconds, UTC
	amount   int64
	pos      int64
	kind     Sym
	status   Sym
	currency Sym
	loc      Sym
	pk       strRef
	keyOff   uint32
	attrOff  uint32
	nKeys    uint8
	nAttrs   uint8
	style    Style
	flags    uint8
}

// Store holds every record of a run. Writers add records concurrently; after
// Seal the store is read-only and safe for concurrent readers.
type Store struct {
	syms     *symtab
	keyTypes []string
	keys     []keyTable

	mu      sync.Mutex
	writers []*Writer
	sealed  bool

	// set by Seal
	segBase []int     // first ID of each writer's records
	keyBase [][]KeyID // [type][shard] first KeyID
	keyOwn  []keyOwner
	nKeys   int
	names   []string // symbol names
}

type keyOwner struct {
	typ   uint16
	shard uint16
	base  KeyID
}

// NewStore returns a store for records whose keys are of the given types.
func NewStore(keyTypes []string) *Store {
	s := &Store{syms: newSymtab(), keyTypes: append([]string(nil), keyTypes...)}
	s.keys = make([]keyTable, len(keyTypes))
	return s
}

// KeyTypes returns the key types, in the order given to NewStore.
func (s *Store) KeyTypes() []string { return s.keyTypes }

// KeyTypeIndex returns the index of a key type, or -1.
func (s *Store) KeyTypeIndex(typ string) int {
	for i, t := range s.keyTypes {
		if t == typ {
			return i
		}
	}
	return -1
}

// Writer returns a new writer for records of one source. Each goroutine
// uses its own writer.
func (s *Store) Writer(source string) *Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		panic("record: Writer on a sealed store")
	}
	src, _ := s.syms.intern(source)
	w := &Writer{s: s, source: src, cache: map[string]Sym{}}
	s.writers = append(s.writers, w)
	return w
}

// Writer appends records to a Store. It is not safe for concurrent use.
type Writer struct {
	s      *Store
	source Sym
	cache  map[string]Sym
	recs   []rec
	keys   []keyRef
	attrs  []attrRef
	arena  arena
}

func (w *Writer) sym(str string) Sym {
	if id, ok := w.cache[str]; ok {
		return id
	}
	id, own := w.s.syms.intern(str)
	w.cache[own] = id
	return id
}

// Add copies r into the store. Keys of a type the store does not know and
// keys with empty values are an error; the caller validated the mapping.
func (w *Writer) Add(r *Record) error {
	if len(r.Keys) > 255 || len(r.Attrs) > 255 {
		return fmt.Errorf("record has %d keys and %d attributes; at most 255 of each", len(r.Keys), len(r.Attrs))
	}
	c := rec{
		time:     r.Time.UnixNano(),
		amount:   r.Amount,
		pos:      r.Prov.Pos,
		kind:     w.sym(r.Kind),
		status:   w.sym(r.Status),
		currency: w.sym(r.Currency),
		loc:      w.sym(r.Prov.Loc),
		style:    r.Prov.Style,
		keyOff:   uint32(len(w.keys)),
		attrOff:  uint32(len(w.attrs)),
	}
	if r.HasAmount {
		c.flags |= flagAmount
	}
	if r.Prov.Key != "" {
		c.pk = w.arena.add(r.Prov.Key)
	}
	for _, k := range r.Keys {
		if k.Value == "" {
			continue
		}
		t := w.s.KeyTypeIndex(k.Name)
		if t < 0 {
			return fmt.Errorf("unknown key type %q", k.Name)
		}
		if hasKeyType(w.keys[c.keyOff:], uint16(t)) {
			return fmt.Errorf("key type %q given twice", k.Name)
		}
		shard, local := w.s.keys[t].intern(k.Value)
		w.keys = append(w.keys, keyRef{typ: uint16(t), shard: shard, local: local})
		c.nKeys++
	}
	for _, a := range r.Attrs {
		w.attrs = append(w.attrs, attrRef{name: w.sym(a.Name), val: w.arena.add(a.Value)})
		c.nAttrs++
	}
	w.recs = append(w.recs, c)
	return nil
}

func hasKeyType(keys []keyRef, t uint16) bool {
	for _, k := range keys {
		if k.typ == t {
			return true
		}
	}
	return false
}

// Len returns the number of records this writer added.
func (w *Writer) Len() int { return len(w.recs) }

// Seal ends writing and numbers records and keys densely. Records are
// numbered writer by writer, in the order writers were created.
func (s *Store) Seal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		return
	}
	s.sealed = true
	s.names = s.syms.snapshot()
	s.segBase = make([]int, len(s.writers)+1)
	for i, w := range s.writers {
		s.segBase[i+1] = s.segBase[i] + len(w.recs)
	}
	s.keyBase = make([][]KeyID, len(s.keys))
	next := KeyID(0)
	for t := range s.keys {
		s.keyBase[t] = make([]KeyID, keyShards)
		for sh := range s.keys[t].shards {
			s.keyBase[t][sh] = next
			s.keyOwn = append(s.keyOwn, keyOwner{typ: uint16(t), shard: uint16(sh), base: next})
			next += KeyID(len(s.keys[t].shards[sh].refs))
		}
	}
	s.nKeys = int(next)
}

// Len returns the number of records. The store must be sealed.
func (s *Store) Len() int { return s.segBase[len(s.segBase)-1] }

// NumKeys returns the number of distinct (key type, value) pairs.
func (s *Store) NumKeys() int { return s.nKeys }

func (s *Store) at(id ID) (*Writer, *rec) {
	i := sort.Search(len(s.writers), func(i int) bool { return s.segBase[i+1] > int(id) })
	w := s.writers[i]
	return w, &w.recs[int(id)-s.segBase[i]]
}

// Time returns when the record happened.
func (s *Store) Time(id ID) time.Time {
	_, r := s.at(id)
	return time.Unix(0, r.time).UTC()
}

// UnixNano returns when the record happened, as unix nanoseconds.
func (s *Store) UnixNano(id ID) int64 {
	_, r := s.at(id)
	return r.time
}

// Kind returns the record's kind.
func (s *Store) Kind(id ID) string {
	_, r := s.at(id)
	return s.names[r.kind]
}

// Source returns the name of the source the record came from.
func (s *Store) Source(id ID) string {
	w, _ := s.at(id)
	return s.names[w.source]
}

// Sig returns the interned source, kind and status of a record: the
// fields most matchers look at.
func (s *Store) Sig(id ID) (source, kind, status Sym) {
	w, r := s.at(id)
	return w.source, r.kind, r.status
}

// SymName returns the string of an interned symbol.
func (s *Store) SymName(id Sym) string { return s.names[id] }

// Sym returns the symbol of a string, if any record used it.
func (s *Store) Sym(str string) (Sym, bool) { return s.syms.lookup(str) }

// Keys calls fn for each key of the record with its type index and KeyID.
func (s *Store) Keys(id ID, fn func(typ int, k KeyID)) {
	w, r := s.at(id)
	for _, k := range w.keys[r.keyOff : r.keyOff+uint32(r.nKeys)] {
		fn(int(k.typ), s.keyBase[k.typ][k.shard]+KeyID(k.local))
	}
}

// KeyOf returns the value of the record's key of type typ (an index).
func (s *Store) KeyOf(id ID, typ int) (string, bool) {
	w, r := s.at(id)
	for _, k := range w.keys[r.keyOff : r.keyOff+uint32(r.nKeys)] {
		if int(k.typ) == typ {
			return s.keys[k.typ].value(k.shard, k.local), true
		}
	}
	return "", false
}

// KeyID returns the KeyID of the record's key of type typ (an index).
func (s *Store) KeyID(id ID, typ int) (KeyID, bool) {
	w, r := s.at(id)
	for _, k := range w.keys[r.keyOff : r.keyOff+uint32(r.nKeys)] {
		if int(k.typ) == typ {
			return s.keyBase[k.typ][k.shard] + KeyID(k.local), true
		}
	}
	return 0, false
}

// LookupKey finds the KeyID of a key value of the given type.
func (s *Store) LookupKey(typ int, value string) (KeyID, bool) {
	shard, local, ok := s.keys[typ].lookup(value)
	if !ok {
		return 0, false
	}
	return s.keyBase[typ][shard] + KeyID(local), true
}

// Key returns the type index and value of a KeyID.
func (s *Store) Key(k KeyID) (typ int, value string) {
	i := sort.Search(len(s.keyOwn), func(i int) bool { return s.keyOwn[i].base > k }) - 1
	o := s.keyOwn[i]
	return int(o.typ), s.keys[o.typ].value(o.shard, uint32(k-o.base))
}

// Get fills r with the record's fields. Strings in r stay valid as long as
// the store lives and must not be modified.
func (s *Store) Get(id ID, r *Record) {
	w, c := s.at(id)
	r.Reset()
	r.Kind = s.names[c.kind]
	r.Status = s.names[c.status]
	r.Time = time.Unix(0, c.time).UTC()
	r.Amount = c.amount
	r.HasAmount = c.flags&flagAmount != 0
	r.Currency = s.names[c.currency]
	for _, k := range w.keys[c.keyOff : c.keyOff+uint32(c.nKeys)] {
		r.Keys = append(r.Keys, KV{Name: s.keyTypes[k.typ], Value: s.keys[k.typ].value(k.shard, k.local)})
	}
	for _, a := range w.attrs[c.attrOff : c.attrOff+uint32(c.nAttrs)] {
		r.Attrs = append(r.Attrs, KV{Name: s.names[a.name], Value: w.arena.str(a.val)})
	}
	r.Prov = Provenance{
		Source: s.names[w.source],
		Loc:    s.names[c.loc],
		Pos:    c.pos,
		Key:    w.arena.str(c.pk),
		Style:  c.style,
	}
}

// Record returns a copy of the record's fields.
func (s *Store) Record(id ID) Record {
	var r Record
	s.Get(id, &r)
	return r
}

// Memory estimates the bytes the store holds, for benchmarks and progress.
func (s *Store) Memory() int {
	n := 0
	for _, w := range s.writers {
		n += 64*cap(w.recs) + 8*cap(w.keys) + 16*cap(w.attrs) + w.arena.size()
	}
	for i := range s.keys {
		n += s.keys[i].memory()
	}
	return n
}

// Less orders records by time, then by where they came from (source,
// location, position, kind), so the order never depends on the order in
// which concurrent readers happened to add them.
func (s *Store) Less(a, b ID) bool {
	wa, ra := s.at(a)
	wb, rb := s.at(b)
	if ra.time != rb.time {
		return ra.time < rb.time
	}
	if wa.source != wb.source {
		return s.names[wa.source] < s.names[wb.source]
	}
	if ra.loc != rb.loc {
		return s.names[ra.loc] < s.names[rb.loc]
	}
	if ra.pos != rb.pos {
		return ra.pos < rb.pos
	}
	if ra.pk != rb.pk {
		if ka, kb := wa.arena.str(ra.pk), wb.arena.str(rb.pk); ka != kb {
			return ka < kb
		}
	}
	if ra.kind != rb.kind {
		return s.names[ra.kind] < s.names[rb.kind]
	}
	return a < b
}
