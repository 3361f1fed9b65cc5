package record

import (
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

// keyTable interns the values of one key type. It is an open-addressing hash
// table of indexes into an arena: about 24 bytes per distinct value plus the
// value itself, against some 70 for a map[string]uint32 with string headers.
type keyTable struct {
	shards [keyShards]keyShard
}

type keyShard struct {
	mu     sync.Mutex
	slots  []uint32 // 0 empty, else index+1
	refs   []strRef
	hashes []uint32
	arena  arena
}

func (t *keyTable) intern(s string) (shard uint16, local uint32) {
	h := maphash.String(keySeed, s)
	sh := &t.shards[h%keyShards]
	sh.mu.Lock()
	local = sh.insert(s, h>>8)
	sh.mu.Unlock()
	return uint16(h % keyShards), local
}

func (t *keyTable) lookup(s string) (shard uint16, local uint32, ok bool) {
	h := maphash.String(keySeed, s)
	sh := &t.shards[h%keyShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	local, ok = sh.find(s, h>>8)
	return uint16(h % keyShards), local, ok
}

func (sh *keyShard) find(s string, h uint64) (uint32, bool) {
	if len(sh.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(sh.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		slot := sh.slots[i]
		if slot == 0 {
			return 0, false
		}
		idx := slot - 1
		if sh.hashes[idx] == uint32(h) && sh.arena.str(sh.refs[idx]) == s {
			return idx, true
		}
	}
}

func (sh *keyShard) insert(s string, h uint64) uint32 {
	if len(sh.refs)*4 >= len(sh.slots)*3 {
		sh.grow()
	}
	mask := uint64(len(sh.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		slot := sh.slots[i]
		if slot == 0 {
			idx := uint32(len(sh.refs))
			sh.refs = append(sh.refs, sh.arena.add(s))
			sh.hashes = append(sh.hashes, uint32(h))
			sh.slots[i] = idx + 1
			return idx
		}
		idx := slot - 1
		if sh.hashes[idx] == uint32(h) && sh.arena.str(sh.refs[idx]) == s {
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
	for idx := range sh.refs {
		// Rehash from the stored value: the table keeps only 32 bits of hash.
		h := maphash.String(keySeed, sh.arena.str(sh.refs[idx])) >> 8
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = uint32(idx) + 1
	}
	sh.slots = slots
}

func (t *keyTable) value(shard uint16, local uint32) string {
	sh := &t.shards[shard]
	return sh.arena.str(sh.refs[local])
}

func (t *keyTable) memory() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		n += 4*cap(sh.slots) + 12*cap(sh.refs) + 4*cap(sh.hashes) + sh.arena.size()
	}
	return n
}
