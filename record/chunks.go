package record

import (
	"unsafe"

	"github.com/vitals-dev/vitals/internal/thp"
)

// chunked is an append-only array stored in fixed-size chunks: it grows
// without copying (no transient doubling) and holds no pointers.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkBits = 16
const chunkLen = 1 << chunkBits

func (c *chunked[T]) append(v T) {
	if c.n < chunkLen {
		// The first chunk grows like a slice, so small arrays stay small.
		if c.n == 0 {
			c.chunks = [][]T{nil}
		}
		c.chunks[0] = append(c.chunks[0], v)
		c.n++
		return
	}
	if c.n&(chunkLen-1) == 0 {
		ch := make([]T, chunkLen)
		thp.Advise(ch)
		c.chunks = append(c.chunks, ch)
	}
	c.chunks[c.n>>chunkBits][c.n&(chunkLen-1)] = v
	c.n++
}

func (c *chunked[T]) at(i int) T { return c.chunks[i>>chunkBits][i&(chunkLen-1)] }

// trim gives back the unused tail of the last chunk.
func (c *chunked[T]) trim() {
	if len(c.chunks) == 0 {
		return
	}
	last := len(c.chunks) - 1
	used := c.n - last*chunkLen
	if used < cap(c.chunks[last]) {
		c.chunks[last] = append([]T(nil), c.chunks[last][:used]...)
	}
}

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) bytes() int {
	var zero T
	n := 0
	for _, ch := range c.chunks {
		n += cap(ch)
	}
	return n * int(unsafe.Sizeof(zero))
}

// blob stores byte strings in 1 MiB chunks that never move; an offset packs
// the chunk (12 bits) and the position in it (20 bits).
type blob struct {
	chunks [][]byte
}

const blobChunk = 1 << 20

// maxBlobChunks bounds a blob to 4 GiB, what a uint32 offset can address.
const maxBlobChunks = 1 << 12

// reserve returns room for n bytes (n <= blobChunk) and its offset, or
// false when the blob is full.
func (b *blob) reserve(n int) ([]byte, uint32, bool) {
	last := len(b.chunks) - 1
	if last >= 0 && cap(b.chunks[last])-len(b.chunks[last]) < n && cap(b.chunks[last]) < blobChunk {
		// A small last chunk grows by copying: offsets, not addresses, name
		// its bytes, so they stay valid.
		c := b.chunks[last]
		grown := make([]byte, len(c), min(blobChunk, max(2*cap(c), len(c)+n)))
		copy(grown, c)
		b.chunks[last] = grown
	}
	if last < 0 || cap(b.chunks[last])-len(b.chunks[last]) < n {
		if len(b.chunks) == maxBlobChunks {
			return nil, 0, false
		}
		size := blobChunk
		if last < 0 {
			size = 4 << 10 // the first chunk starts small
		}
		ch := make([]byte, 0, max(size, n))
		thp.Advise(ch)
		b.chunks = append(b.chunks, ch)
		last++
	}
	c := b.chunks[last]
	off := len(c)
	b.chunks[last] = c[:off+n]
	return b.chunks[last][off : off+n : off+n], uint32(last)<<20 | uint32(off), true
}

// from returns the bytes from offset to the end of its chunk.
func (b *blob) from(off uint32) []byte {
	return b.chunks[off>>20][off&(blobChunk-1):]
}

// trim gives back the unused tail of the last chunk.
func (b *blob) trim() {
	if last := len(b.chunks) - 1; last >= 0 && len(b.chunks[last]) < cap(b.chunks[last]) {
		b.chunks[last] = append([]byte(nil), b.chunks[last]...)
	}
}

func (b *blob) size() int {
	n := 0
	for _, c := range b.chunks {
		n += cap(c)
	}
	return n
}

func bstring(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
