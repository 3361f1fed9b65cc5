package reconcile

import (
	"testing"
	"time"
	"unsafe"

	"github.com/vitals-dev/vitals/record"
)

// TestRejectedRecordProvenanceCopied: a record the store rejects is listed
// as bad input with its provenance, whose strings may view the source's
// read buffer (a PostgreSQL row's primary key does); the list must keep
// a copy, not a view the next row overwrites.
func TestRejectedRecordProvenanceCopied(t *testing.T) {
	s := &sink{name: "shopdb", store: record.NewStore([]string{"order_id"}, nil), asOf: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}
	w := s.Writer()
	buf := []byte("orders8812")
	view := func(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
	r := record.Record{Kind: "order", Time: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), // outside what the store holds
		Prov: record.Provenance{Source: "shopdb", Loc: view(buf[:6]), Key: view(buf[6:]), Style: record.StyleKey}}
	if err := w.Record(&r); err != nil {
		t.Fatal(err)
	}
	w.Close()
	copy(buf, "xxxxxx9999") // the next row
	if len(s.badList) != 1 {
		t.Fatalf("%d bad inputs listed, want 1", len(s.badList))
	}
	if got := s.badList[0].At.String(); got != "shopdb:orders#8812" {
		t.Errorf("bad input listed at %s, want shopdb:orders#8812", got)
	}
}
