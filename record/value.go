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

// uuidAt returns where a canonical lower-case UUID starts in s, or -1.
// A UUID has a dash 8 bytes in, so only dashes are candidates.
func uuidAt(s string) int {
	for from := 8; from+28 <= len(s); {
		j := strings.IndexByte(s[from:len(s)-27], '-')
		if j < 0 {
			return -1
		}
		if i := from + j - 8; isUUID(s[i : i+36]) {
			return i
		}
		from += j + 1
	}
	return -1
}

// isHex marks the lower-case hex digits.
var isHex = [256]bool{
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true,
}

func isUUID(s string) bool {
	s = s[:36]
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		if !isHex[s[i]] {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

const hexDigits = "0123456789abcdef"

// appendValue encodes v (mode 0 or 2) onto b.
func appendValue(b []byte, v string) []byte {
	if len(v) >= 36 {
		if i := uuidAt(v); i >= 0 {
			b = binary.AppendUvarint(b, uint64(i)<<2|modeUUID)
			b = append(b, v[:i]...)
			u := v[i : i+36]
			for j := 0; j < 36; {
				if u[j] == '-' {
					j++
					continue
				}
				b = append(b, unhex(u[j])<<4|unhex(u[j+1]))
				j += 2
			}
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
