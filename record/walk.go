package record

// EachKey calls fn for every key of the record with its type index and
// either its KeyID (an interned type; inline is nil) or the encoding of
// its value (a type kept with the record; k is -1). Equal values of one
// type have equal encodings, so the encoding joins records as a KeyID
// does; it is a view of the store, valid while the store lives.
func (s *Store) EachKey(id ID, fn func(typ int, k KeyID, inline []byte)) {
	d := s.body(id)
	d.skipHead()
	for n := d.uvarint(); n > 0; n-- {
		fn(d.key(s))
	}
}

// Interned reports whether values of key type typ have KeyIDs.
func (s *Store) Interned(typ int) bool { return s.interned[typ] }
