package record

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Sym is an interned low-cardinality string: a kind, status, currency,
// attribute name, source or location.
type Sym uint32

// symtab interns low-cardinality strings. Writers keep a private cache in
// front of it, so the lock is taken once per distinct string per writer.
type symtab struct {
	mu    sync.RWMutex
	ids   map[string]Sym
	names []string
}

func newSymtab() *symtab {
	t := &symtab{ids: map[string]Sym{}}
	t.intern("") // Sym 0 is the empty string
	return t
}

// intern returns the symbol of s and the table's own copy of s.
func (t *symtab) intern(s string) (Sym, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[s]; ok {
		return id, t.names[id]
	}
	s = string([]byte(s)) // own a copy: s may point into a read buffer
	id := Sym(len(t.names))
	t.names = append(t.names, s)
	t.ids[s] = id
	return id, s
}

func (t *symtab) snapshot() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.names...)
}

func (t *symtab) lookup(s string) (Sym, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id, ok := t.ids[s]
	return id, ok
}

const keyShards = 16

var keySeed = maphash.MakeSeed()

// keyTable interns the values of one key type: an open-addressing hash
// table of slots pointing at 4-byte offsets into a blob where each value is
// stored once, encoded (see value.go). About 10 bytes per distinct value
// plus the value. Lookups hash and compare encodings.
type keyTable struct {
	shards [keyShards]keyShard
}

// A slot holds index+1 in its low 24 bits and 8 bits of the value's hash
// in its high ones, so a probe rarely has to read a value to reject it.
const (
	slotIndexBits = 24
	slotIndexMask = 1<<slotIndexBits - 1
	// maxShardKeys is how many values one shard holds: 16 shards make a
	// key type hold 268 million distinct values.
	maxShardKeys = slotIndexMask - 1
)

type keyShard struct {
	mu    sync.Mutex
	slots []uint32
	offs  chunked[uint32] // index -> offset in blob
	blob  blob
	sink  uint32 // where prefetch puts what it read
	// count and bytes follow len(offs) and blob.size() for writers
	// checking, without the lock, that a batch will fit.
	count atomic.Int32
	bytes atomic.Int64
}

// maxShardBytes bounds the bytes of one shard's values, with room to
// spare below the blob's 4 GiB for chunk ends left unused.
const maxShardBytes = 3 << 30

// slotTag takes 8 high bits of the (already shifted) hash; the slot
// position comes from its low bits.
func slotTag(h uint64) uint32 { return uint32(h>>48&0xff) << slotIndexBits }

// maxKeyLen bounds a key value; longer ones are bad input.
const maxKeyLen = 64 << 10

// enc returns the encoding of value idx.
func (sh *keyShard) enc(idx uint32) []byte {
	b := sh.blob.from(sh.offs.at(int(idx)))
	return b[:encodedLen(b)]
}

// reserve grows the table so that n more values fit without growing.
func (sh *keyShard) reserve(n int) {
	for (sh.offs.len()+n)*4 >= len(sh.slots)*3 {
		sh.grow()
	}
}

// prefetch loads what inserting the group's keys will read: first every
// key's home slot, then the offsets of the values those slots point at,
// then the values' first bytes. Each pass issues independent loads, so a
// core waits for their cache misses together rather than one after
// another. The result is discarded; only the caches keep it.
func (sh *keyShard) prefetch(w *Writer, group []int32) {
	if len(group) < 4 {
		return
	}
	mask := uint64(len(sh.slots) - 1)
	var sink uint32
	for _, i := range group {
		sink += sh.slots[(w.pendKeys[i].h>>8)&mask]
	}
	n := uint32(sh.offs.len())
	var offs [64]uint32
	m := 0
	for _, i := range group {
		pk := &w.pendKeys[i]
		h := pk.h >> 8
		slot := sh.slots[h&mask]
		if slot == 0 || slot&^slotIndexMask != slotTag(h) || m == len(offs) {
			continue
		}
		if idx := slot&slotIndexMask - 1; idx < n {
			offs[m] = sh.offs.at(int(idx))
			m++
		}
	}
	for _, off := range offs[:m] {
		sink += uint32(sh.blob.from(off)[0])
	}
	sh.sink = sink
}

// insert interns an encoded value whose hash, shifted right by 8, is h,
// and returns its index. The caller holds the lock and has reserved room.
func (sh *keyShard) insert(enc []byte, h uint64) uint32 {
	mask := uint64(len(sh.slots) - 1)
	tag := slotTag(h)
	for i := h & mask; ; i = (i + 1) & mask {
		slot := sh.slots[i]
		if slot == 0 {
			dst, off, ok := sh.blob.reserve(len(enc))
			if !ok {
				panic("record: key values exceed a shard's blob (checked by Writer.key)")
			}
			copy(dst, enc)
			idx := uint32(sh.offs.len())
			sh.offs.append(off)
			sh.slots[i] = tag | (idx + 1)
			return idx
		}
		idx := slot&slotIndexMask - 1
		if slot&^slotIndexMask == tag && bytes.Equal(sh.enc(idx), enc) {
			return idx
		}
	}
}

func (sh *keyShard) grow() {
	n := len(sh.slots) * 2
	if n == 0 {
		n = 1024
	}
	slots := make([]uint32, n)
	mask := uint64(n - 1)
	for idx := range sh.offs.len() {
		// Rehash from the stored value: a slot keeps only 8 bits of hash.
		h := maphash.Bytes(keySeed, sh.enc(uint32(idx))) >> 8
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = slotTag(h) | (uint32(idx) + 1)
	}
	sh.slots = slots
}

func (t *keyTable) value(shard uint16, local uint32) string {
	v, _ := decodeValue(t.shards[shard].enc(local), nil, nil)
	return v
}

func (t *keyTable) encoded(shard uint16, local uint32) []byte {
	return t.shards[shard].enc(local)
}

func (t *keyTable) memory() (table, strings int) {
	for i := range t.shards {
		sh := &t.shards[i]
		table += 4*cap(sh.slots) + sh.offs.bytes()
		strings += sh.blob.size()
	}
	return table, strings
}
