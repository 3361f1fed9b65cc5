package record

import "unsafe"

// strRef locates a string in an arena. It holds no pointer, so slices of
// records stay invisible to the garbage collector's scan.
type strRef struct {
	chunk uint32
	off   uint32
	n     uint32
}

const chunkSize = 256 << 10

// arena stores strings in large chunks that never move once written, so a
// string made from a chunk stays valid for the arena's life.
type arena struct {
	chunks [][]byte
}

func (a *arena) add(s string) strRef {
	if len(s) == 0 {
		return strRef{}
	}
	if len(s) > chunkSize/4 {
		// A large value gets a chunk of its own (full, so small values never follow it).
		c := make([]byte, len(s))
		copy(c, s)
		a.chunks = append(a.chunks, c)
		return strRef{chunk: uint32(len(a.chunks) - 1), n: uint32(len(s))}
	}
	n := len(a.chunks)
	if n == 0 || cap(a.chunks[n-1])-len(a.chunks[n-1]) < len(s) {
		a.chunks = append(a.chunks, make([]byte, 0, chunkSize))
		n++
	}
	c := a.chunks[n-1]
	off := len(c)
	a.chunks[n-1] = append(c, s...)
	return strRef{chunk: uint32(n - 1), off: uint32(off), n: uint32(len(s))}
}

func (a *arena) str(r strRef) string {
	if r.n == 0 {
		return ""
	}
	c := a.chunks[r.chunk]
	return unsafe.String(&c[r.off], int(r.n))
}

func (a *arena) size() int {
	n := 0
	for _, c := range a.chunks {
		n += cap(c)
	}
	return n
}
