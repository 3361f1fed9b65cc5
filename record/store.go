package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"sort"
	"sync"
	"time"
)

// ID names a record in a sealed Store: 0..Len()-1.
type ID int32

// KeyID names one distinct (key type, value) pair in a sealed Store:
// 0..NumKeys()-1.
type KeyID int32

// A record is kept as its time (8 bytes, for sorting without decoding),
// a 4-byte offset, and a varint-encoded body in a blob:
//
//	kind status currency loc   uvarint symbols
//	flags                      byte: 1 amount, 2 primary key, 16 fraction of a second, style<<2
//	nanos                      uvarint, if flagged: the time's fraction of a second
//	pos                        zigzag varint
//	amount                     zigzag varint, if flagged
//	pk                         value, if flagged
//	nkeys, keys...             uvarint; each key: uvarint(type<<1 | inline), then
//	                           an interned key's uvarint(local<<4 | shard), or an inline key's value
//	nattrs, attrs...           uvarint; each attr: name uvarint, value
//	value                      see value.go
//
// Keys of the types NewStore is told to intern get KeyIDs (correlation
// joins on them); the others are stored inline, which spares the hash
// table: keys that only search (customer ids), and linking keys whose
// values are nearly all seen once (event ids), which correlation joins by
// value after reading. About 30 bytes per record plus its values, and no
// pointers, so the garbage collector never scans it.

const (
	flagAmount = 1
	flagPK     = 2
	flagNanos  = 16
)

// inlineMax is the longest value stored in the blob; longer ones (a stack
// trace in a dead letter's headers) go to the segment's large values.
const inlineMax = 2 << 10

// segment holds the records of one writer (a writer starts a new segment
// when its blob is full).
type segment struct {
	source Sym
	// secs holds each record's time in whole seconds from base; records
	// with a fraction of a second carry its nanoseconds in their body.
	base int64
	secs chunked[int32]
	offs chunked[uint32]
	blob blob
	// large is shared by the segments of one writer: a record's body
	// names its large values when it is added, before the writer knows
	// which segment will hold it.
	large *largeValues
}

type largeValues struct{ v [][]byte }

// Store holds every record of a run. Writers add records concurrently; after
// Seal the store is read-only and safe for concurrent readers.
type Store struct {
	syms     *symtab
	keyTypes []string
	interned []bool // per key type: values interned (linking types) or inline
	keys     []keyTable

	mu      sync.Mutex
	segs    []*segment
	writers []*Writer // flushed by Seal
	sealed  bool

	// set by Seal
	segBase []int     // first ID of each segment's records; one more entry at the end
	segAt   []int32   // the segment holding record j<<segAtBits, for at()
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

// MaxKeyTypes is how many key types the encoding can tell apart.
const MaxKeyTypes = 64

// NewStore returns a store for records whose keys are of the given types.
// The values of types with interned[i] set get dense KeyIDs (correlation
// joins on them); the others are kept with their record. A nil interned
// interns every type.
func NewStore(keyTypes []string, interned []bool) *Store {
	if len(keyTypes) > MaxKeyTypes {
		panic(fmt.Sprintf("record: %d key types, at most %d", len(keyTypes), MaxKeyTypes))
	}
	s := &Store{syms: newSymtab(), keyTypes: append([]string(nil), keyTypes...), interned: make([]bool, len(keyTypes))}
	for i := range s.interned {
		s.interned[i] = interned == nil || interned[i]
	}
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

func (s *Store) newSegment(source Sym, large *largeValues) *segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		panic("record: write to a sealed store")
	}
	seg := &segment{source: source, large: large}
	s.segs = append(s.segs, seg)
	return seg
}

// Writer returns a new writer for records of one source. Each goroutine
// uses its own writer.
func (s *Store) Writer(source string) *Writer {
	src, _ := s.syms.intern(source)
	w := &Writer{s: s, source: src, large: &largeValues{}, cache: map[string]symEntry{}}
	w.seg = s.newSegment(src, w.large)
	for i := range w.recent {
		w.recent[i].typ, w.recent[i].pend = -1, -1
	}
	s.mu.Lock()
	s.writers = append(s.writers, w)
	s.mu.Unlock()
	return w
}

// Writer appends records to a Store. It is not safe for concurrent use.
type Writer struct {
	s      *Store
	source Sym
	seg    *segment
	large  *largeValues
	cache  map[string]symEntry // keyed by the symbol table's own copy
	// buf holds the bodies of the records waiting for their keys to be
	// interned (see flush).
	buf      []byte
	encs     []byte // encodings of the waiting keys
	pendRecs []pendingRec
	pendKeys []pendingKey
	// scratch of internPending
	bucketStart, next, order []int32
	// last symbol of each head field (headSym)
	last  [4]symEntry
	types []uint8 // the type of each non-empty key of the record being added
	// keyNames and keyTypes remember the type of the previous record's
	// n-th key by its name.
	keyNames [MaxKeyTypes]string
	keyTypes [MaxKeyTypes]uint8
	// attrNames remembers the previous record's attributes by position:
	// a source gives them in the same order, so a name is compared with
	// the one at its position before any map is consulted.
	attrNames [attrPositions]attrName
	n         int
	// attrVals tracks, per attribute name, whether its values repeat
	// enough to be stored as symbols.
	attrVals map[Sym]*attrCard
	// recent remembers key values this writer interned lately: records
	// of one instance tend to come together and repeat them.
	recent [recentKeys]recentKey
}

// attrPositions is how many attribute positions a writer remembers;
// further attributes are looked up by name.
const attrPositions = 8

type attrName struct {
	own  string // the symbol table's copy
	sym  Sym
	card *attrCard
}

const recentKeys = 256

type recentKey struct {
	typ  int8  // -1 empty
	n    uint8 // len of the encoding
	pend int32 // >= 0: the value waits to be interned as pendKeys[pend]
	ref  uint64
	enc  [recentMaxLen]byte
}

// recentMaxLen bounds the encodings the recent cache holds.
const recentMaxLen = 64

// attrCard follows the distinct values of one attribute in one writer:
// while there are few (a SKU, a status message), values are symbols.
type attrCard struct {
	distinct int
	high     bool
}

// maxSymValues is how many distinct values an attribute may have in one
// writer and still be stored as symbols.
const maxSymValues = 512

type symEntry struct {
	id  Sym
	own string // the symbol table's copy: str may view a read buffer
}

func (w *Writer) sym(str string) Sym { return w.symEntry(str).id }

func (w *Writer) symEntry(str string) symEntry {
	if e, ok := w.cache[str]; ok {
		return e
	}
	id, own := w.s.syms.intern(str)
	e := symEntry{id: id, own: own}
	w.cache[own] = e
	return e
}

// headSym is sym for the head's fields (kind, status, currency,
// location), which repeat from one record to the next: each is compared
// with the field's last value (the table's copy, never the caller's
// string, whose bytes the next row may overwrite) before any map is
// consulted.
func (w *Writer) headSym(field int, str string) Sym {
	// A field's zero entry maps "" to Sym 0, the empty string's symbol.
	if l := &w.last[field]; l.own == str {
		return l.id
	}
	e := w.symEntry(str)
	w.last[field] = e
	return e.id
}

// attrCard returns the cardinality tracker of an attribute name.
func (w *Writer) attrCard(name Sym) *attrCard {
	c := w.attrVals[name]
	if c == nil {
		if w.attrVals == nil {
			w.attrVals = map[Sym]*attrCard{}
		}
		c = &attrCard{}
		w.attrVals[name] = c
	}
	return c
}

// attrValue encodes an attribute value, as a symbol while the attribute's
// values repeat (c tracks them).
func (w *Writer) attrValue(c *attrCard, v string) {
	if !c.high && len(v) <= 64 {
		e, seen := w.cache[v]
		sym := e.id
		if !seen {
			if c.distinct >= maxSymValues {
				c.high = true
				w.value(v)
				return
			}
			c.distinct++
			sym = w.sym(v)
		}
		w.buf = binary.AppendUvarint(w.buf, uint64(sym)<<2|modeSym)
		return
	}
	w.value(v)
}

func (w *Writer) value(v string) {
	if len(v) > inlineMax {
		w.buf = binary.AppendUvarint(w.buf, uint64(len(w.large.v))<<2|modeLarge)
		w.large.v = append(w.large.v, []byte(v))
		return
	}
	w.buf = appendValue(w.buf, v)
}

// Times are read back as unix nanoseconds: these are the first and the
// last time that can be.
var (
	minTime = time.Unix(math.MinInt64/int64(time.Second), 0)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Add copies r into the store. An undeclared key type, a key given twice,
// a key value longer than 64 KiB or a time outside 1677-09-21..2262-04-11
// is an error; empty key values are not keys.
func (w *Writer) Add(r *Record) error {
	start, keys, encs := len(w.buf), len(w.pendKeys), len(w.encs)
	if err := w.add(r); err != nil {
		// Leave nothing of it behind.
		w.buf, w.pendKeys, w.encs = w.buf[:start], w.pendKeys[:keys], w.encs[:encs]
		for i := range w.recent {
			if slot := &w.recent[i]; slot.pend >= int32(keys) {
				slot.typ, slot.pend = -1, -1
			}
		}
		return err
	}
	w.n++
	if len(w.pendRecs) == batchRecords || len(w.buf) >= batchBytes || len(w.encs) >= batchBytes {
		w.flush()
	}
	return nil
}

func (w *Writer) add(r *Record) error {
	if len(r.Keys) > 255 || len(r.Attrs) > 255 {
		return fmt.Errorf("record has %d keys and %d attributes; at most 255 of each", len(r.Keys), len(r.Attrs))
	}
	if r.Time.Before(minTime) || r.Time.After(maxTime) {
		return fmt.Errorf("time %s is outside what vitals can hold (%s to %s): is it a placeholder?", r.Time.UTC().Format(time.RFC3339Nano), minTime.UTC().Format(time.RFC3339), maxTime.UTC().Format(time.RFC3339))
	}
	b := w.buf
	b = binary.AppendUvarint(b, uint64(w.headSym(0, r.Kind)))
	b = binary.AppendUvarint(b, uint64(w.headSym(1, r.Status)))
	b = binary.AppendUvarint(b, uint64(w.headSym(2, r.Currency)))
	b = binary.AppendUvarint(b, uint64(w.headSym(3, r.Prov.Loc)))
	flags := byte(r.Prov.Style) << 2
	if r.HasAmount {
		flags |= flagAmount
	}
	if r.Prov.Key != "" {
		flags |= flagPK
	}
	sec, nsec := r.Time.Unix(), r.Time.Nanosecond()
	if nsec != 0 {
		flags |= flagNanos
	}
	b = append(b, flags)
	if nsec != 0 {
		b = binary.AppendUvarint(b, uint64(nsec))
	}
	b = binary.AppendVarint(b, r.Prov.Pos)
	if r.HasAmount {
		b = binary.AppendVarint(b, r.Amount)
	}
	w.buf = b
	if r.Prov.Key != "" {
		w.value(r.Prov.Key)
	}
	// Check every key before interning any: a rejected record must leave
	// no key value behind (a root value no record carries).
	w.types = w.types[:0]
	var seen uint64 // key types given, as bits
	for _, k := range r.Keys {
		if k.Value == "" {
			continue
		}
		var t int
		if n := len(w.types); n < len(w.keyNames) && w.keyNames[n] == k.Name {
			t = int(w.keyTypes[n]) // a source gives its keys in the same order
		} else if t = w.s.KeyTypeIndex(k.Name); t >= 0 && n < len(w.keyNames) {
			w.keyNames[n], w.keyTypes[n] = w.s.keyTypes[t], uint8(t) // the store's copy: k.Name may view a buffer
		}
		if t < 0 {
			return fmt.Errorf("unknown key type %q", k.Name)
		}
		if seen&(1<<t) != 0 {
			return fmt.Errorf("key type %q given twice", k.Name)
		}
		seen |= 1 << t
		if len(k.Value) > maxKeyLen {
			return fmt.Errorf("key %s is %d bytes long; at most %d", k.Name, len(k.Value), maxKeyLen)
		}
		w.types = append(w.types, uint8(t))
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(len(w.types)))
	i := 0
	for _, k := range r.Keys {
		if k.Value == "" {
			continue
		}
		t := int(w.types[i])
		i++
		if !w.s.interned[t] {
			w.buf = binary.AppendUvarint(w.buf, uint64(t)<<1|1)
			w.buf = appendValue(w.buf, k.Value)
			continue
		}
		w.buf = binary.AppendUvarint(w.buf, uint64(t)<<1)
		if err := w.key(t, k.Value); err != nil {
			return fmt.Errorf("key type %q %w", k.Name, err)
		}
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(len(r.Attrs)))
	for i, a := range r.Attrs {
		var an attrName
		if i < len(w.attrNames) && w.attrNames[i].own == a.Name && w.attrNames[i].card != nil {
			an = w.attrNames[i]
		} else {
			e := w.symEntry(a.Name)
			an = attrName{own: e.own, sym: e.id, card: w.attrCard(e.id)}
			if i < len(w.attrNames) {
				w.attrNames[i] = an
			}
		}
		w.buf = binary.AppendUvarint(w.buf, uint64(an.sym))
		w.attrValue(an.card, a.Value)
	}
	w.pendRecs = append(w.pendRecs, pendingRec{sec: sec, end: uint32(len(w.buf)), keysEnd: uint32(len(w.pendKeys))})
	return nil
}

// Interned keys are added in batches: a record's body waits in the
// writer's buffer, with a gap where each interned key's reference goes,
// until batchRecords records are waiting; then their keys are interned
// shard by shard (one lock per shard and batch, and the hash slots of
// the whole group loaded before any is used, so their cache misses
// overlap instead of queueing), and the bodies are completed and stored.
// Store.Seal flushes every writer.
const (
	batchRecords = 512
	batchBytes   = 1 << 20
)

type pendingRec struct {
	sec     int64
	end     uint32 // the end of its body in buf
	keysEnd uint32 // the end of its keys in pendKeys
}

type pendingKey struct {
	pos   uint32 // where its reference goes in buf
	enc   uint32 // its encoding: encs[enc:enc+n]
	n     uint32
	typ   uint8
	alias int32 // >= 0: the same value as pendKeys[alias], which interns it
	h     uint64
	ref   uint64 // local<<4 | shard, once known
}

// key queues an interned key of type t for the record being added.
func (w *Writer) key(t int, value string) error {
	start := len(w.encs)
	w.encs = appendValue(w.encs, value)
	enc := w.encs[start:]
	h := maphash.Bytes(keySeed, enc)
	pk := pendingKey{pos: uint32(len(w.buf)), typ: uint8(t), alias: -1, h: h, enc: uint32(start), n: uint32(len(enc))}
	slot := &w.recent[(h>>8+uint64(t))%recentKeys]
	if slot.typ == int8(t) && string(slot.enc[:slot.n]) == bstring(enc) {
		if slot.pend < 0 {
			// Known: write the reference now.
			w.encs = w.encs[:start]
			w.buf = binary.AppendUvarint(w.buf, slot.ref)
			return nil
		}
		pk.alias = slot.pend
	} else {
		sh := &w.s.keys[t].shards[h%keyShards]
		// Room for what this writer may still add before its next flush;
		// what other writers hold pending is within the limits' slack.
		if sh.count.Load()+batchRecords*MaxKeyTypes >= maxShardKeys || sh.bytes.Load()+batchBytes+MaxKeyTypes*maxKeyLen >= maxShardBytes {
			return errors.New("holds more distinct values than one store can")
		}
		if len(enc) <= recentMaxLen {
			slot.typ, slot.n, slot.pend = int8(t), uint8(len(enc)), int32(len(w.pendKeys))
			copy(slot.enc[:], enc)
		}
	}
	w.pendKeys = append(w.pendKeys, pk)
	return nil
}

// flush interns the waiting records' keys and stores the records.
func (w *Writer) flush() {
	if len(w.pendRecs) == 0 {
		return
	}
	w.internPending()
	// Complete each body where it is stored: its bytes, with each
	// interned key's reference written into its gap.
	start, k := uint32(0), uint32(0)
	for _, pr := range w.pendRecs {
		n := int(pr.end - start)
		for j := k; j < pr.keysEnd; j++ {
			n += uvarintLen(w.pendKeys[j].ref)
		}
		dst := w.store(pr.sec, n)
		at, o := start, 0
		for ; k < pr.keysEnd; k++ {
			pk := &w.pendKeys[k]
			o += copy(dst[o:], w.buf[at:pk.pos])
			o += binary.PutUvarint(dst[o:], pk.ref)
			at = pk.pos
		}
		copy(dst[o:], w.buf[at:pr.end])
		start = pr.end
	}
	// The recent cache now knows the references of the keys it pointed
	// at pending ones.
	for i := range w.recent {
		if slot := &w.recent[i]; slot.pend >= 0 {
			slot.ref = w.pendKeys[slot.pend].ref
			slot.pend = -1
		}
	}
	w.buf, w.encs = w.buf[:0], w.encs[:0]
	w.pendRecs, w.pendKeys = w.pendRecs[:0], w.pendKeys[:0]
}

// internPending interns the pending keys, grouped by table shard.
func (w *Writer) internPending() {
	nb := len(w.s.keys) * keyShards
	if cap(w.bucketStart) < nb+1 {
		w.bucketStart = make([]int32, nb+1)
	}
	count := w.bucketStart[:nb+1]
	clear(count)
	bucket := func(pk *pendingKey) int { return int(pk.typ)*keyShards + int(pk.h%keyShards) }
	for i := range w.pendKeys {
		if pk := &w.pendKeys[i]; pk.alias < 0 {
			count[bucket(pk)+1]++
		}
	}
	for b := 1; b <= nb; b++ {
		count[b] += count[b-1]
	}
	n := int(count[nb])
	if cap(w.order) < n {
		w.order = make([]int32, n)
	}
	order := w.order[:n]
	next := append(w.next[:0], count[:nb]...)
	w.next = next
	for i := range w.pendKeys {
		if pk := &w.pendKeys[i]; pk.alias < 0 {
			b := bucket(pk)
			order[next[b]] = int32(i)
			next[b]++
		}
	}
	for b := 0; b < nb; b++ {
		group := order[count[b]:count[b+1]]
		if len(group) == 0 {
			continue
		}
		sh := &w.s.keys[b/keyShards].shards[b%keyShards]
		sh.mu.Lock()
		sh.reserve(len(group))
		sh.prefetch(w, group)
		for _, i := range group {
			pk := &w.pendKeys[i]
			local := sh.insert(w.encs[pk.enc:pk.enc+pk.n], pk.h>>8)
			pk.ref = uint64(local)<<4 | pk.h%keyShards
		}
		sh.count.Store(int32(sh.offs.len()))
		sh.bytes.Store(int64(sh.blob.size()))
		sh.mu.Unlock()
	}
	for i := range w.pendKeys {
		if pk := &w.pendKeys[i]; pk.alias >= 0 {
			pk.ref = w.pendKeys[pk.alias].ref
		}
	}
}

// store appends a record of the given time and body length to the
// writer's segment and returns the room for its body.
func (w *Writer) store(sec int64, n int) []byte {
	if w.seg.secs.len() == 0 {
		w.seg.base = sec
	}
	dst, off, ok := w.seg.blob.reserve(n)
	if !ok || sec-w.seg.base > math.MaxInt32 || sec-w.seg.base < math.MinInt32 {
		// The blob is full, or the time is more than 68 years from the
		// segment's first: start a new segment.
		w.seg = w.s.newSegment(w.source, w.large)
		w.seg.base = sec
		dst, off, _ = w.seg.blob.reserve(n)
	}
	w.seg.secs.append(int32(sec - w.seg.base))
	w.seg.offs.append(off)
	return dst
}

// uvarintLen is the length of x as binary.AppendUvarint writes it.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// Len returns the number of records this writer added.
func (w *Writer) Len() int { return w.n }

// Seal ends writing and numbers records and keys densely. Records are
// numbered segment by segment, in the order segments were created.
func (s *Store) Seal() {
	s.mu.Lock()
	writers := s.writers
	sealed := s.sealed
	s.mu.Unlock()
	if sealed {
		return
	}
	// Writers are idle now (the caller's contract): store what they hold.
	for _, w := range writers {
		w.flush()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writers = nil
	s.sealed = true
	s.names = s.syms.snapshot()
	s.segBase = make([]int, len(s.segs)+1)
	for i, seg := range s.segs {
		s.segBase[i+1] = s.segBase[i] + seg.secs.len()
	}
	n := s.segBase[len(s.segs)]
	s.segAt = make([]int32, 0, n>>segAtBits+1)
	for i, id := 0, 0; id < n; id += 1 << segAtBits {
		for s.segBase[i+1] <= id {
			i++
		}
		s.segAt = append(s.segAt, int32(i))
	}
	s.keyBase = make([][]KeyID, len(s.keys))
	next := KeyID(0)
	for t := range s.keys {
		s.keyBase[t] = make([]KeyID, keyShards)
		for sh := range s.keys[t].shards {
			s.keyBase[t][sh] = next
			s.keyOwn = append(s.keyOwn, keyOwner{typ: uint16(t), shard: uint16(sh), base: next})
			shard := &s.keys[t].shards[sh]
			next += KeyID(shard.offs.len())
			shard.offs.trim()
			shard.blob.trim()
			// Correlation needs KeyIDs and values, not lookups by value:
			// give the hash table back (about 7 bytes per value).
			shard.slots = nil
		}
	}
	s.nKeys = int(next)
	for _, seg := range s.segs {
		seg.secs.trim()
		seg.offs.trim()
		seg.blob.trim()
	}
}

// Len returns the number of records. The store must be sealed.
func (s *Store) Len() int { return s.segBase[len(s.segBase)-1] }

// KeyRange returns the KeyIDs of one interned key type: [lo, hi).
func (s *Store) KeyRange(typ int) (lo, hi KeyID) {
	lo = s.keyBase[typ][0]
	if typ+1 < len(s.keyBase) {
		return lo, s.keyBase[typ+1][0]
	}
	return lo, KeyID(s.nKeys)
}

// NumKeys returns the number of distinct (key type, value) pairs.
func (s *Store) NumKeys() int { return s.nKeys }

func (s *Store) at(id ID) (*segment, int) {
	i := int(s.segAt[id>>segAtBits])
	for s.segBase[i+1] <= int(id) {
		i++
	}
	return s.segs[i], int(id) - s.segBase[i]
}

// body is a decoder over one record's encoding.
type body struct {
	seg   *segment
	b     []byte
	i     int
	names []string
	last  uint64 // the last interned key read: local<<4 | shard
}

// segAtBits: at() starts from the segment of record id>>segAtBits<<segAtBits
// and walks forward; segments hold many records, so it walks little.
const segAtBits = 10

func (s *Store) body(id ID) body {
	seg, i := s.at(id)
	return body{seg: seg, b: seg.blob.from(seg.offs.at(i)), names: s.names}
}

func (d *body) uvarint() uint64 {
	v, next := uv(d.b, d.i) // inlined; see uv
	d.i = next
	return v
}

func (d *body) varint() int64 {
	v, n := binary.Varint(d.b[d.i:])
	d.i += n
	return v
}

func (d *body) value() string {
	v, n := decodeValue(d.b[d.i:], d.seg.large.v, d.names)
	d.i += n
	return v
}

// rawValue returns the encoding of the value at d and skips it.
func (d *body) rawValue() []byte {
	n := encodedLen(d.b[d.i:])
	b := d.b[d.i : d.i+n]
	d.i += n
	return b
}

// key reads one key: its type, and either its KeyID or its inline encoding.
func (d *body) key(s *Store) (typ int, id KeyID, inline []byte) {
	h := d.uvarint()
	typ = int(h >> 1)
	if h&1 == 1 {
		return typ, -1, d.rawValue()
	}
	v := d.uvarint()
	d.last = v
	return typ, s.keyBase[typ][v&(keyShards-1)] + KeyID(v>>4), nil
}

// keyValue returns the value of the key key() just read: no search for
// the KeyID's owner.
func (d *body) keyValue(s *Store, typ int, inline []byte) string {
	if inline != nil {
		v, _ := decodeValue(inline, nil, nil)
		return v
	}
	return s.keys[typ].value(uint16(d.last&(keyShards-1)), uint32(d.last>>4))
}

// head decodes the fixed part and leaves d at the keys.
func (d *body) head() (kind, status, currency, loc Sym, flags byte, pos, amount int64, pk string) {
	kind, status, currency, loc = Sym(d.uvarint()), Sym(d.uvarint()), Sym(d.uvarint()), Sym(d.uvarint())
	flags = d.b[d.i]
	d.i++
	if flags&flagNanos != 0 {
		d.uvarint()
	}
	pos = d.varint()
	if flags&flagAmount != 0 {
		amount = d.varint()
	}
	if flags&flagPK != 0 {
		pk = d.value()
	}
	return
}

// skipVarints returns the position after the n varints (signed or not)
// at b[i:], found by their continuation bits without decoding them.
func skipVarints(b []byte, i, n int) int {
	for ; n > 0; n-- {
		for b[i] >= 0x80 {
			i++
		}
		i++
	}
	return i
}

// headSymbols is how many symbols start a body: kind, status, currency,
// location; the flags follow.
const headSymbols = 4

// skipHead moves past the head to the keys without decoding it.
func (d *body) skipHead() {
	d.i = skipVarints(d.b, d.i, headSymbols)
	flags := d.b[d.i]
	d.i++
	if flags&flagNanos != 0 {
		d.i = skipVarints(d.b, d.i, 1)
	}
	d.skipAfterTime(flags)
}

// skipAfterTime moves past the position, the amount and the primary key.
func (d *body) skipAfterTime(flags byte) {
	n := 1 // position
	if flags&flagAmount != 0 {
		n++
	}
	d.i = skipVarints(d.b, d.i, n)
	if flags&flagPK != 0 {
		d.rawValue()
	}
}

// Time returns when the record happened.
func (s *Store) Time(id ID) time.Time { return time.Unix(0, s.UnixNano(id)).UTC() }

// Head is what inference reads of every record.
type Head struct {
	Source, Kind, Status Sym
	UnixNano             int64
}

// UnixNano returns when the record happened, as unix nanoseconds.
func (s *Store) UnixNano(id ID) int64 {
	// Sorting calls this most: it skips to the flags without decoding.
	seg, i := s.at(id)
	ns := (seg.base + int64(seg.secs.at(i))) * 1e9
	b := seg.blob.from(seg.offs.at(i))
	p := skipVarints(b, 0, headSymbols)
	if b[p]&flagNanos != 0 {
		n, _ := binary.Uvarint(b[p+1:])
		ns += int64(n)
	}
	return ns
}

// Kind returns the record's kind.
func (s *Store) Kind(id ID) string {
	d := s.body(id)
	return s.names[d.uvarint()]
}

// Source returns the name of the source the record came from.
func (s *Store) Source(id ID) string {
	seg, _ := s.at(id)
	return s.names[seg.source]
}

// Sig returns the interned source, kind and status of a record: the
// fields most matchers look at.
func (s *Store) Sig(id ID) (source, kind, status Sym) {
	d := s.body(id)
	return d.seg.source, Sym(d.uvarint()), Sym(d.uvarint())
}

// SymName returns the string of an interned symbol.
func (s *Store) SymName(id Sym) string { return s.names[id] }

// Sym returns the symbol of a string, if any record used it.
func (s *Store) Sym(str string) (Sym, bool) { return s.syms.lookup(str) }

// KeyValues calls fn for each key of the record with its type index and
// value.
func (s *Store) KeyValues(id ID, fn func(typ int, value string)) {
	d := s.body(id)
	d.skipHead()
	for n := d.uvarint(); n > 0; n-- {
		t, _, inline := d.key(s)
		fn(t, d.keyValue(s, t, inline))
	}
}

// KeyOf returns the value of the record's key of type typ (an index).
func (s *Store) KeyOf(id ID, typ int) (string, bool) {
	d := s.body(id)
	d.skipHead()
	for n := d.uvarint(); n > 0; n-- {
		t, _, inline := d.key(s)
		if t == typ {
			return d.keyValue(s, t, inline), true
		}
	}
	return "", false
}

// LookupKey finds the KeyID of a key value of the given (interned) type.
// A sealed store has given its hash tables back, so this scans the type's
// values: fine for a tool or a test, not for a loop.
func (s *Store) LookupKey(typ int, value string) (KeyID, bool) {
	if !s.interned[typ] {
		return 0, false
	}
	enc := appendValue(nil, value)
	for sh := range s.keys[typ].shards {
		shard := &s.keys[typ].shards[sh]
		for i := range shard.offs.len() {
			if bytes.Equal(shard.enc(uint32(i)), enc) {
				return s.keyBase[typ][sh] + KeyID(i), true
			}
		}
	}
	return 0, false
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
	d := s.body(id)
	kind, status, currency, loc, flags, pos, amount, pk := d.head()
	r.Reset()
	r.Kind, r.Status, r.Currency = s.names[kind], s.names[status], s.names[currency]
	r.Time = s.Time(id)
	r.Amount, r.HasAmount = amount, flags&flagAmount != 0
	r.Prov = Provenance{Source: s.names[d.seg.source], Loc: s.names[loc], Pos: pos, Key: pk, Style: Style(flags >> 2 & 3)}
	d.keysAttrs(s, r, AllKeys, true)
}

// AllKeys asks GetValues for every key.
const AllKeys = ^uint64(0)

// keysAttrs appends to r the keys whose type index is set in keyTypes and,
// when attrs is set, the attributes; d is at the keys.
func (d *body) keysAttrs(s *Store, r *Record, keyTypes uint64, attrs bool) {
	for n := d.uvarint(); n > 0; n-- {
		// As key, but without the KeyID, which is not returned, and
		// skipping the keys not asked for (most, for the judge).
		h := d.uvarint()
		t := int(h >> 1)
		inline := h&1 == 1
		switch {
		case keyTypes&(1<<t) == 0 && inline:
			d.i += encodedLen(d.b[d.i:])
		case keyTypes&(1<<t) == 0:
			d.i = skipVarints(d.b, d.i, 1)
		case inline:
			r.Keys = append(r.Keys, KV{Name: s.keyTypes[t], Value: d.keyValue(s, t, d.rawValue())})
		default:
			d.last = d.uvarint()
			r.Keys = append(r.Keys, KV{Name: s.keyTypes[t], Value: d.keyValue(s, t, nil)})
		}
	}
	if !attrs {
		return
	}
	for n := d.uvarint(); n > 0; n-- {
		name := s.names[d.uvarint()]
		r.Attrs = append(r.Attrs, KV{Name: name, Value: d.value()})
	}
}

// Record returns a copy of the record's fields.
func (s *Store) Record(id ID) Record {
	var r Record
	s.Get(id, &r)
	return r
}

// Less orders records by time, then by where they came from
// (Provenance.Compare), then kind, so the order never depends on the order
// in which concurrent readers happened to add them.
func (s *Store) Less(a, b ID) bool {
	ta, tb := s.UnixNano(a), s.UnixNano(b)
	if ta != tb {
		return ta < tb
	}
	da, db := s.body(a), s.body(b)
	if da.seg.source != db.seg.source {
		return s.names[da.seg.source] < s.names[db.seg.source]
	}
	ka, _, _, la, fa, pa, _, pka := da.head()
	kb, _, _, lb, fb, pb, _, pkb := db.head()
	if la != lb {
		return s.names[la] < s.names[lb]
	}
	// One source and location: the rest of the provenance decides.
	pra := Provenance{Pos: pa, Key: pka, Style: Style(fa >> 2 & 3)}
	prb := Provenance{Pos: pb, Key: pkb, Style: Style(fb >> 2 & 3)}
	if c := pra.Compare(prb); c != 0 {
		return c < 0
	}
	if ka != kb {
		return s.names[ka] < s.names[kb]
	}
	return a < b
}

// Compare is Less as a three-way comparison (for slices.SortFunc): 0
// only for the same record.
func (s *Store) Compare(a, b ID) int {
	switch {
	case a == b:
		return 0
	case s.Less(a, b):
		return -1
	}
	return 1
}

// Stats says how many bytes the store holds, by part.
type Stats struct {
	Records    int // times, offsets and encoded bodies
	KeyTable   int // the hash tables of key values
	KeyStrings int // the key values themselves
}

// Total is the sum of the parts.
func (st Stats) Total() int { return st.Records + st.KeyTable + st.KeyStrings }

// Memory reports the store's size.
func (s *Store) Memory() Stats {
	var st Stats
	s.mu.Lock()
	segs := append([]*segment(nil), s.segs...)
	s.mu.Unlock()
	counted := map[*largeValues]bool{} // shared by a writer's segments
	for _, seg := range segs {
		st.Records += seg.secs.bytes() + seg.offs.bytes() + seg.blob.size()
		if counted[seg.large] {
			continue
		}
		counted[seg.large] = true
		for _, l := range seg.large.v {
			st.Records += len(l)
		}
	}
	for i := range s.keys {
		t, str := s.keys[i].memory()
		st.KeyTable += t
		st.KeyStrings += str
	}
	return st
}
