package mapping

import (
	"testing"
	"unsafe"

	"github.com/vitals-dev/vitals/record"
)

// Sources hand the mapper strings that point into a read buffer reused
// for the next row. A status the map does not know is passed through and
// cached: the cache must keep its own copy, not the buffer.
func TestCacheOwnsUnmappedValues(t *testing.T) {
	m, err := Compile(Spec{
		Kind:   Field{Const: "charge"},
		Time:   Field{Field: "t"},
		Status: Field{Field: "s", Map: map[string]string{"paid": "succeeded"}},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("weird")
	view := func() string { return unsafe.String(&buf[0], len(buf)) }
	var r record.Record
	for i, want := range []string{"weird", "weird"} {
		if _, err := m.Map([]string{"2026-11-20T10:00:00Z", view()}, &r); err != nil {
			t.Fatal(err)
		}
		if r.Status != want {
			t.Fatalf("row %d: status %q, want %q", i, r.Status, want)
		}
		if i == 0 {
			copy(buf, "XXXXX") // the next row overwrites the buffer...
			copy(buf, "weird") // ...with the same value again
		}
	}
	copy(buf, "paid!")
	if _, err := m.Map([]string{"2026-11-20T10:00:00Z", "weird"}, &r); err != nil || r.Status != "weird" {
		t.Fatalf("a cached unmapped status changed with the buffer: %q, %v", r.Status, err)
	}
}
