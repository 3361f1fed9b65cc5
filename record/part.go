package record

import "time"

// GetValues is Get with only the fields an expression over a record can
// read (kind, status, source, amount, currency, time), the keys whose
// type index is set in the keyTypes bit mask, and the attributes only
// when attrs is set: the provenance but for its source is left out. The
// judge decodes a record this way for every record its invariants read;
// skipping the location, position and primary key, and taking the time
// from the body already open rather than finding the record again
// (Store.Time), saves most of the decoding that is not keys or
// attributes.
func (s *Store) GetValues(id ID, r *Record, keyTypes uint64, attrs bool) {
	seg, i := s.at(id)
	d := body{seg: seg, b: seg.blob.from(seg.offs.at(i)), names: s.names}
	kind, status, currency := d.uvarint(), d.uvarint(), d.uvarint()
	d.i = skipVarints(d.b, d.i, 1) // location
	flags := d.b[d.i]
	d.i++
	ns := (seg.base + int64(seg.secs.at(i))) * 1e9
	if flags&flagNanos != 0 {
		ns += int64(d.uvarint())
	}
	d.i = skipVarints(d.b, d.i, 1) // position
	var amount int64
	if flags&flagAmount != 0 {
		amount = d.varint()
	}
	if flags&flagPK != 0 {
		d.rawValue()
	}
	r.Reset()
	r.Kind, r.Status, r.Currency = s.names[kind], s.names[status], s.names[currency]
	r.Time = time.Unix(0, ns).UTC()
	r.Amount, r.HasAmount = amount, flags&flagAmount != 0
	r.Prov = Provenance{Source: s.names[seg.source]}
	d.keysAttrs(s, r, keyTypes, attrs)
}
