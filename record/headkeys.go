package record

// Read-side accessors for inference's hot loop (reconcile.inferer), which
// reads every record of every instance once.

// KeyRef is the identity of one key of a record, cheap to compare: its
// KeyID for an interned type, else the encoding of its value (equal
// values have equal encodings), a view into the store.
type KeyRef struct {
	Type int
	ID   KeyID  // -1 for a type not interned
	Raw  []byte // nil for an interned type
}

// HeadKeys decodes a record's head and, in the same pass, appends to out
// the identity of its first key of each type whose bit is set in want
// (bit t for type t), in the record's order; it stops reading keys once
// it has found every wanted type: inference needs a record's delivery key
// and its attempt key.
func (s *Store) HeadKeys(id ID, want uint64, out []KeyRef) (Head, []KeyRef) {
	seg, i := s.at(id)
	b := seg.blob.from(seg.offs.at(i))
	var h Head
	h.Source = seg.source
	// Most varints here are one byte: uv decodes those inline.
	var v uint64
	p := 0
	v, p = uv(b, p)
	h.Kind = Sym(v)
	v, p = uv(b, p)
	h.Status = Sym(v)
	p = skipVarints(b, p, headSymbols-2) // currency, location
	flags := b[p]
	p++
	h.UnixNano = (seg.base + int64(seg.secs.at(i))) * 1e9
	if flags&flagNanos != 0 {
		v, p = uv(b, p)
		h.UnixNano += int64(v)
	}
	if want == 0 {
		return h, out
	}
	n := 1 // position
	if flags&flagAmount != 0 {
		n++
	}
	p = skipVarints(b, p, n)
	if flags&flagPK != 0 {
		p += encodedLen(b[p:])
	}
	nk, p := uv(b, p)
	for ; nk > 0 && want != 0; nk-- {
		var kh uint64
		kh, p = uv(b, p)
		t := int(kh >> 1)
		bit := uint64(1) << t
		if kh&1 == 1 { // inline: the value's encoding
			l := encodedLen(b[p:])
			if want&bit != 0 {
				want &^= bit
				out = append(out, KeyRef{Type: t, ID: -1, Raw: b[p : p+l]})
			}
			p += l
			continue
		}
		if want&bit == 0 {
			p = skipVarints(b, p, 1) // a KeyID of several bytes, mostly: skip it undecoded
			continue
		}
		v, p = uv(b, p)
		want &^= bit
		out = append(out, KeyRef{Type: t, ID: s.keyBase[t][v&(keyShards-1)] + KeyID(v>>4)})
	}
	return h, out
}

// uv decodes the uvarint at b[p:] and returns it and the position after
// it. It is small enough to be inlined, unlike binary.Uvarint; the store
// wrote the bytes, so it need not check for overlong encodings.
func uv(b []byte, p int) (v uint64, next int) {
	for s := uint(0); ; s += 7 {
		c := b[p]
		p++
		v |= uint64(c&0x7f) << s
		if c < 0x80 {
			return v, p
		}
	}
}
