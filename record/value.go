package record

import (
	"encoding/binary"
	"strings"
)

// Values (attribute values, primary keys, key values) are encoded as a
// uvarint header, len<<2 | mode, and then:
//
//	mode 0: the bytes
//	mode 1: (header is index<<2 | 1) the value is the segment's large value #index
//	mode 2: a value holding a canonical UUID: prefix, 16 bytes, uvarint suffix length, suffix
//	mode 3: (header is sym<<2 | 3) the value is a symbol: a repeated attribute value
//
// UUIDs are the commonest shape of identifier (event ids, request ids); in
// binary they take 16 bytes instead of 36. The encoding is canonical: two
// values are equal exactly when their encodings are.
const (
	modeRaw   = 0
	modeLarge = 1
	modeUUID  = 2
	modeSym   = 3
)

// findUUID returns where the first canonical lower-case UUID starts in
// s (or -1) and puts its 16 bytes in u. A UUID has a dash 8 bytes in, so
// only dashes are candidates. (The bytes go through a pointer: returning
// the array by value copied it twice on the way to the encoding.)
func findUUID(s string, u *[16]byte) int {
	for from := 8; from+28 <= len(s); {
		j := strings.IndexByte(s[from:len(s)-27], '-')
		if j < 0 {
			return -1
		}
		i := from + j - 8
		if parseUUID(s[i:], u) {
			return i
		}
		from += j + 1
	}
	return -1
}

// hexVal is the value of each lower-case hex digit; 0xff for any other
// byte.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

// parseUUID reads the canonical lower-case UUID at the start of s (36
// bytes or more) into u, in one pass, and says whether there was one (u
// holds garbage if not). Each group of hex digits is decoded by its own
// loop over fixed bounds, which the compiler checks once rather than at
// each digit (a table of the 32 digits' offsets took half as long again).
func parseUUID(s string, u *[16]byte) bool {
	s = s[:36]
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	var bad byte
	pairs := func(dst []byte, src string) {
		for k := range dst {
			hi, lo := hexVal[src[2*k]], hexVal[src[2*k+1]]
			bad |= hi | lo
			dst[k] = hi<<4 | lo&0x0f
		}
	}
	pairs(u[0:4], s[0:8])
	pairs(u[4:6], s[9:13])
	pairs(u[6:8], s[14:18])
	pairs(u[8:10], s[19:23])
	pairs(u[10:16], s[24:36])
	return bad&0xf0 == 0
}

const hexDigits = "0123456789abcdef"

// appendValue encodes v (mode 0 or 2) onto b.
func appendValue(b []byte, v string) []byte {
	if len(v) >= 36 {
		var u [16]byte
		if i := findUUID(v, &u); i >= 0 {
			b = binary.AppendUvarint(b, uint64(i)<<2|modeUUID)
			b = append(b, v[:i]...)
			b = append(b, u[:]...)
			rest := v[i+36:]
			b = binary.AppendUvarint(b, uint64(len(rest)))
			return append(b, rest...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(v))<<2|modeRaw)
	return append(b, v...)
}

// encodedLen returns the length of the encoded value at the start of b
// (mode 0 or 2).
func encodedLen(b []byte) int {
	h, n := binary.Uvarint(b)
	switch h & 3 {
	case modeUUID:
		p := n + int(h>>2) + 16
		s, m := binary.Uvarint(b[p:])
		return p + m + int(s)
	case modeLarge, modeSym:
		return n // the header holds an index, not a length
	}
	return n + int(h>>2)
}

// decodeValue decodes the value at the start of b and returns it and its
// encoded length. A raw value is a view of b; a UUID value is rebuilt.
func decodeValue(b []byte, large [][]byte, names []string) (string, int) {
	h, n := binary.Uvarint(b)
	switch h & 3 {
	case modeLarge:
		return bstring(large[h>>2]), n
	case modeSym:
		return names[h>>2], n
	case modeUUID:
		p := n + int(h>>2)
		var sb strings.Builder
		sb.Grow(int(h>>2) + 36 + 8)
		sb.Write(b[n:p])
		for j, x := range b[p : p+16] {
			if j == 4 || j == 6 || j == 8 || j == 10 {
				sb.WriteByte('-')
			}
			sb.WriteByte(hexDigits[x>>4])
			sb.WriteByte(hexDigits[x&15])
		}
		p += 16
		s, m := binary.Uvarint(b[p:])
		p += m
		sb.Write(b[p : p+int(s)])
		return sb.String(), p + int(s)
	}
	l := int(h >> 2)
	return bstring(b[n : n+l]), n + l
}
