package record

import (
	"bytes"
	"hash/maphash"
	"sync"
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
}

// slotTag takes 8 high bits of the (already shifted) hash; the slot
// position comes from its low bits.
func slotTag(h uint64) uint32 { return uint32(h>>48&0xff) << slotIndexBits }

// maxKeyLen bounds a key value; longer ones are bad input.
const maxKeyLen = 64 << 10

// intern interns an encoded value whose maphash (keySeed) is h.
func (t *keyTable) intern(enc []byte, h uint64) (shard uint16, local uint32, ok bool) {
	sh := &t.shards[h%keyShards]
	sh.mu.Lock()
	local, ok = sh.insert(enc, h>>8)
	sh.mu.Unlock()
	return uint16(h % keyShards), local, ok
}

// enc returns the encoding of value idx.
func (sh *keyShard) enc(idx uint32) []byte {
	b := sh.blob.from(sh.offs.at(int(idx)))
	return b[:encodedLen(b)]
}

func (sh *keyShard) insert(enc []byte, h uint64) (uint32, bool) {
	if sh.offs.len()*4 >= len(sh.slots)*3 {
		sh.grow()
	}
	mask := uint64(len(sh.slots) - 1)
	tag := slotTag(h)
	for i := h & mask; ; i = (i + 1) & mask {
		slot := sh.slots[i]
		if slot == 0 {
			if sh.offs.len() >= maxShardKeys {
				return 0, false
			}
			dst, off, ok := sh.blob.reserve(len(enc))
			if !ok {
				return 0, false
			}
			copy(dst, enc)
			idx := uint32(sh.offs.len())
			sh.offs.append(off)
			sh.slots[i] = tag | (idx + 1)
			return idx, true
		}
		idx := slot&slotIndexMask - 1
		if slot&^slotIndexMask == tag && bytes.Equal(sh.enc(idx), enc) {
			return idx, true
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
