package record

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	st := NewStore([]string{"charge_id", "order_id"}, nil)
	w := st.Writer("provider")
	buf := []byte("ch_1")
	r := Record{
		Kind: "charge", Status: "succeeded", Time: time.Date(2026, 11, 20, 10, 0, 3, 5, time.UTC),
		Amount: 4599, HasAmount: true, Currency: "EUR",
		Keys:  []KV{{"order_id", "ORD-1"}, {"charge_id", string(buf)}, {"order_id", ""}},
		Attrs: []KV{{"card_last4", "4242"}},
		Prov:  Provenance{Source: "provider", Loc: "charges.csv", Pos: 17, Style: StyleLine},
	}
	if err := w.Add(&r); err != nil {
		t.Fatal(err)
	}
	buf[3] = '9' // the store must have copied what it keeps
	if err := w.Add(&Record{Kind: "x", Keys: []KV{{"nope", "1"}}}); err == nil {
		t.Error("a key of an undeclared type was accepted")
	}
	st.Seal()
	if st.Len() != 1 || st.NumKeys() != 2 {
		t.Fatalf("len %d keys %d", st.Len(), st.NumKeys())
	}
	got := st.Record(0)
	if got.Kind != "charge" || got.Status != "succeeded" || !got.Time.Equal(r.Time) || got.Amount != 4599 || !got.HasAmount || got.Currency != "EUR" {
		t.Errorf("record %+v", got)
	}
	if v, _ := got.Key("charge_id"); v != "ch_1" {
		t.Errorf("charge_id %q", v)
	}
	if len(got.Keys) != 2 || got.Attr("card_last4") != "4242" || got.Prov.String() != "provider:charges.csv:17" {
		t.Errorf("keys %v attrs %v prov %s", got.Keys, got.Attrs, got.Prov)
	}
	k, ok := st.LookupKey(st.KeyTypeIndex("order_id"), "ORD-1")
	if !ok {
		t.Fatal("ORD-1 not found")
	}
	if typ, v := st.Key(k); typ != 1 || v != "ORD-1" {
		t.Errorf("Key(%d) = %d %q", k, typ, v)
	}
	if _, ok := st.LookupKey(0, "ORD-1"); ok {
		t.Error("an order id found as a charge id: key types must not mix")
	}
}

func TestProvenanceString(t *testing.T) {
	for _, tt := range []struct {
		p    Provenance
		want string
	}{
		{Provenance{Source: "shopdb", Loc: "orders", Key: "8812", Style: StyleKey}, "shopdb:orders#8812"},
		{Provenance{Source: "events", Loc: "orders.dlq/0", Pos: 5521, Style: StyleOffset}, "events:orders.dlq/0@5521"},
		{Provenance{Source: "provider", Loc: "charges.csv", Pos: 1187}, "provider:charges.csv:1187"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%q, want %q", got, tt.want)
		}
	}
}

// TestConcurrentWriters: writers on several goroutines intern the same key
// values to the same KeyID, and record order ties break by provenance.
func TestConcurrentWriters(t *testing.T) {
	st := NewStore([]string{"order_id"}, nil)
	const writers, per = 4, 20000
	var wg sync.WaitGroup
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i := 0; i < writers; i++ {
		w := st.Writer(fmt.Sprintf("src%d", i))
		wg.Add(1)
		go func(i int, w *Writer) {
			defer wg.Done()
			var r Record
			for j := 0; j < per; j++ {
				r.Reset()
				r.Kind, r.Time = "k", at
				r.Keys = append(r.Keys, KV{"order_id", fmt.Sprintf("ORD-%d", j)})
				r.Prov = Provenance{Source: fmt.Sprintf("src%d", i), Loc: "f", Pos: int64(j)}
				if err := w.Add(&r); err != nil {
					t.Error(err)
					return
				}
			}
		}(i, w)
	}
	wg.Wait()
	st.Seal()
	if st.Len() != writers*per || st.NumKeys() != per {
		t.Fatalf("len %d keys %d; want %d records sharing %d keys", st.Len(), st.NumKeys(), writers*per, per)
	}
	seen := map[KeyID]int{}
	for id := 0; id < st.Len(); id++ {
		st.EachKey(ID(id), func(_ int, k KeyID, _ []byte) { seen[k]++ })
	}
	for k, n := range seen {
		if n != writers {
			_, v := st.Key(k)
			t.Fatalf("key %s seen %d times, want %d", v, n, writers)
		}
	}
	// Same time: src0 sorts before src3 whatever their IDs.
	var a, b ID = -1, -1
	for id := 0; id < st.Len(); id++ {
		switch st.Source(ID(id)) {
		case "src0":
			a = ID(id)
		case "src3":
			b = ID(id)
		}
	}
	if !st.Less(a, b) || st.Less(b, a) {
		t.Error("ties must break by source name")
	}
}

// BenchmarkAdd measures storing a typical record (3 keys, 1 attribute).
func BenchmarkAdd(b *testing.B) {
	st := NewStore([]string{"charge_id", "idempotency_key", "order_id"}, nil)
	w := st.Writer("provider")
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("ORD-%07d", i)
	}
	r := Record{Kind: "charge", Status: "succeeded", Time: time.Now(), Amount: 4599, HasAmount: true, Currency: "EUR",
		Attrs: []KV{{"card_last4", "4242"}}, Prov: Provenance{Source: "provider", Loc: "charges.csv"}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := keys[i&(len(keys)-1)]
		r.Keys = append(r.Keys[:0], KV{"order_id", k}, KV{"charge_id", "ch_" + k}, KV{"idempotency_key", "idem_" + k})
		r.Prov.Pos = int64(i)
		w.Add(&r)
	}
}

// TestValues: values keep their exact text whatever their encoding: UUIDs
// (stored in 16 bytes), upper-case look-alikes (stored as they are), large
// values, inline (search-only) keys.
func TestValues(t *testing.T) {
	st := NewStore([]string{"event_id", "customer_id"}, []bool{true, false})
	w := st.Writer("s")
	values := []string{
		"evt_4a40424d-0877-477d-a8d1-401188c3c973",
		"4a40424d-0877-477d-a8d1-401188c3c973",
		"x-4A40424D-0877-477D-A8D1-401188C3C973-y",
		"pre:4a40424d-0877-477d-a8d1-401188c3c973:4a40424d-0877-477d-a8d1-401188c3c973",
		"plain",
		strings.Repeat("stack trace line\n", 500),
	}
	for i, v := range values {
		keyVal := v
		if len(keyVal) > 200 {
			keyVal = fmt.Sprint("k", i)
		}
		r := Record{Kind: "k", Time: time.Unix(int64(i), int64(i)*1e8), Keys: []KV{{"event_id", keyVal}, {"customer_id", "cus_" + keyVal}},
			Attrs: []KV{{"a", v}}, Prov: Provenance{Source: "s", Loc: "f", Key: v, Style: StyleKey}}
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	for i, v := range values {
		keyVal := v
		if len(keyVal) > 200 {
			keyVal = fmt.Sprint("k", i)
		}
		r := st.Record(ID(i))
		if !r.Time.Equal(time.Unix(int64(i), int64(i)*1e8)) || r.Prov.Style != StyleKey {
			t.Errorf("record %d: time %v style %v", i, r.Time, r.Prov.Style)
		}
		if r.Attr("a") != v || r.Prov.Key != v {
			t.Errorf("value %d came back as %q", i, r.Attr("a"))
		}
		if k, _ := r.Key("event_id"); k != keyVal {
			t.Errorf("key %d came back as %q", i, k)
		}
		if k, _ := st.KeyOf(ID(i), 1); k != "cus_"+keyVal {
			t.Errorf("inline key %d came back as %q", i, k)
		}
		st.EachKey(ID(i), func(typ int, k KeyID, inline []byte) {
			if typ == 1 && (k >= 0 || inline == nil) {
				t.Error("a search-only key has a KeyID")
			}
		})
		if k, ok := st.LookupKey(0, keyVal); !ok || k < 0 {
			t.Errorf("LookupKey(%q) failed", keyVal)
		}
	}
	a, b := appendValue(nil, values[0]), appendValue(nil, values[1])
	if string(a) == string(b) {
		t.Error("different values share an encoding")
	}
	if len(a) > 30 {
		t.Errorf("a prefixed UUID takes %d bytes, want about 22", len(a))
	}
}

// TestRejectedRecordKeepsNoKey: a record Add rejects leaves nothing in the
// store, not even the keys it carried before the bad one.
func TestRejectedRecordKeepsNoKey(t *testing.T) {
	st := NewStore([]string{"order_id", "payment_intent"}, nil)
	w := st.Writer("s")
	for _, keys := range [][]KV{
		{{"order_id", "ORD-1"}, {"payment_intent", strings.Repeat("p", maxKeyLen+1)}},
		{{"order_id", "ORD-2"}, {"nope", "1"}},
		{{"order_id", "ORD-3"}, {"order_id", "ORD-4"}},
	} {
		if err := w.Add(&Record{Kind: "k", Time: time.Unix(1, 0), Keys: keys}); err == nil {
			t.Errorf("keys %.40v accepted", keys)
		}
	}
	st.Seal()
	if st.Len() != 0 || st.NumKeys() != 0 {
		t.Errorf("%d records and %d keys after rejected records; want none", st.Len(), st.NumKeys())
	}
}

// TestTimeRange: times are kept as unix nanoseconds, so a time outside
// 1677-09-21..2262-04-11 (a placeholder 0001-01-01 in an export) is an
// error, never a different time; the ends of the range come back exactly.
func TestTimeRange(t *testing.T) {
	st := NewStore([]string{"order_id"}, nil)
	w := st.Writer("s")
	for _, at := range []time.Time{{}, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Unix(math.MinInt64/int64(time.Second), -1), time.Unix(0, math.MaxInt64).Add(1)} {
		if err := w.Add(&Record{Kind: "k", Time: at}); err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("time %s: error %v", at, err)
		}
	}
	ends := []time.Time{time.Unix(math.MinInt64/int64(time.Second), 0).UTC(), time.Unix(0, math.MaxInt64).UTC(), time.Unix(0, 0).UTC()}
	for _, at := range ends {
		if err := w.Add(&Record{Kind: "k", Time: at}); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	for i, at := range ends {
		if got := st.Time(ID(i)); !got.Equal(at) {
			t.Errorf("time %s came back as %s", at, got)
		}
	}
}

// TestOrderIgnoresRowNumbers: rows of one query at the same time sort by
// their primary key, not by the row number the database happened to
// return them in (without ORDER BY, and with parallel scans, that order
// changes from run to run).
func TestOrderIgnoresRowNumbers(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var orders []string
	for _, rows := range [][]string{{"R-1", "R-2"}, {"R-2", "R-1"}} {
		st := NewStore([]string{"order_id"}, nil)
		w := st.Writer("shopdb")
		for n, pk := range rows {
			r := Record{Kind: "reservation", Time: at, Prov: Provenance{Source: "shopdb", Loc: "stock_reservations", Pos: int64(n + 1), Key: pk, Style: StyleKey}}
			if err := w.Add(&r); err != nil {
				t.Fatal(err)
			}
		}
		st.Seal()
		ids := []ID{0, 1}
		slices.SortFunc(ids, st.Compare)
		orders = append(orders, st.Record(ids[0]).Prov.Key+" "+st.Record(ids[1]).Prov.Key)
	}
	if orders[0] != orders[1] {
		t.Errorf("the same rows sort as %q or %q depending on the order they were read in", orders[0], orders[1])
	}
}

// TestBatchedKeys: keys are interned in batches, so records waiting in a
// batch, a value repeated within one batch or across batches, and a
// record rejected in the middle of a batch must all come out right.
func TestBatchedKeys(t *testing.T) {
	st := NewStore([]string{"order_id", "charge_id"}, nil)
	w := st.Writer("s")
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	const n = 3*batchRecords + 7
	want := make([][2]string, 0, n)
	for i := range n {
		// Each order repeats within a batch and, every 700 records, across
		// batches; charges are new values.
		order := fmt.Sprintf("ORD-%d", i%700/3)
		charge := fmt.Sprintf("ch_%d", i)
		if i%97 == 5 {
			// A rejected record: one fresh value, then a bad key type.
			if err := w.Add(&Record{Kind: "k", Time: at, Keys: []KV{{"order_id", "ORD-rejected"}, {"nope", "1"}}}); err == nil {
				t.Fatal("a record with an undeclared key type was accepted")
			}
		}
		if err := w.Add(&Record{Kind: "k", Time: at, Keys: []KV{{"order_id", order}, {"charge_id", charge}}, Prov: Provenance{Loc: "f", Pos: int64(i)}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, [2]string{order, charge})
	}
	if w.Len() != n {
		t.Errorf("writer counted %d records, want %d", w.Len(), n)
	}
	st.Seal()
	if st.Len() != n {
		t.Fatalf("%d records, want %d", st.Len(), n)
	}
	if st.NumKeys() != 700/3+1+n {
		t.Errorf("%d keys, want %d orders and %d charges (the rejected record's value left behind?)", st.NumKeys(), 700/3+1, n)
	}
	if _, ok := st.LookupKey(0, "ORD-rejected"); ok {
		t.Error("the rejected record's key value was interned")
	}
	for id := range n {
		r := st.Record(ID(id))
		o, _ := r.Key("order_id")
		c, _ := r.Key("charge_id")
		i := int(r.Prov.Pos)
		if [2]string{o, c} != want[i] {
			t.Fatalf("record %d (line %d): keys %s %s, want %v", id, i, o, c, want[i])
		}
	}
}

// TestLargeValueAcrossSegments: a record whose time is too far from its
// segment's start goes to a new segment; its large values must follow it.
func TestLargeValueAcrossSegments(t *testing.T) {
	st := NewStore([]string{"order_id"}, nil)
	w := st.Writer("s")
	big := strings.Repeat("stack frame\n", 400)
	for i, at := range []time.Time{time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if err := w.Add(&Record{Kind: "k", Time: at, Keys: []KV{{"order_id", fmt.Sprint(i)}}, Attrs: []KV{{"trace", fmt.Sprint(i) + big}}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	for id := range st.Len() {
		r := st.Record(ID(id))
		k, _ := r.Key("order_id")
		if r.Attr("trace") != k+big {
			t.Errorf("record %d: its large value is %.20q…, want %.20q…", id, r.Attr("trace"), k+big)
		}
	}
}

// TestUUIDAt: the dash-guided search (findUUID) finds the first canonical UUID
// exactly where trying every position does.
func TestUUIDAt(t *testing.T) {
	naive := func(s string) int {
		for i := 0; i+36 <= len(s); i++ {
			ok := true
			for j := 0; j < 36; j++ {
				c := s[i+j]
				if j == 8 || j == 13 || j == 18 || j == 23 {
					ok = ok && c == '-'
				} else {
					ok = ok && (c >= '0' && c <= '9' || c >= 'a' && c <= 'f')
				}
			}
			if ok {
				return i
			}
		}
		return -1
	}
	u := "4a40424d-0877-477d-a8d1-401188c3c973"
	cases := []string{"", u, u[:35], "-" + u, "--------" + u + "-", "evt_" + u, u + u, "a-b-c-" + u[:20] + u, strings.ToUpper(u) + u,
		"4a40424d-0877-477d-a8d1-401188c3c97-", "x4a40424d-0877-477d-a8d1-401188c3c973"}
	// UUIDs, some with a character changed, between random prefixes and
	// suffixes: hits and near misses.
	seed := uint64(7)
	next := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	for range 20000 {
		var b []byte
		for range next(12) {
			b = append(b, "0a9f-g-"[next(7)])
		}
		for range 1 + next(2) {
			v := []byte(u)
			if next(2) == 0 {
				v[next(36)] = "0a9f-g-"[next(7)]
			}
			b = append(b, v...)
		}
		for range next(12) {
			b = append(b, "0a9f-g-"[next(7)])
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		var u [16]byte
		if got := findUUID(s, &u); got != naive(s) {
			t.Fatalf("findUUID(%q) = %d, want %d", s, got, naive(s))
		}
		// and every value survives its encoding
		enc := appendValue([]byte{0xAA}, s)[1:]
		if got, n := decodeValue(enc, nil, nil); got != s || n != len(enc) || encodedLen(enc) != len(enc) {
			t.Fatalf("%q encoded as %x decodes to %q (%d of %d bytes, encodedLen %d)", s, enc, got, n, len(enc), encodedLen(enc))
		}
	}
}

// TestReusedBuffers: sources hand over strings that view their read
// buffer, which the next row overwrites. Nothing the writer remembers
// from one record may read those bytes when the next is added.
func TestReusedBuffers(t *testing.T) {
	st := NewStore([]string{"order_id", "charge_id"}, nil)
	w := st.Writer("s")
	buf := make([]byte, 64)
	view := func(at int, s string) string {
		copy(buf[at:], s)
		return bstring(buf[at : at+len(s)])
	}
	rows := [][5]string{
		{"charge", "succeeded", "EUR", "order_id", "ORD-1"},
		{"charge", "succeeded", "USD", "order_id", "ORD-2"},
		{"refund", "failed", "EUR", "charge_id", "ch_1"},
		{"charge", "pending", "GBP", "order_id", "ORD-3"},
	}
	for i, row := range rows {
		r := Record{Kind: view(0, row[0]), Status: view(10, row[1]), Currency: view(20, row[2]),
			Time: time.Unix(int64(i), 0), Keys: []KV{{view(30, row[3]), view(45, row[4])}}, Prov: Provenance{Loc: view(56, fmt.Sprint("f", i)), Pos: int64(i)}}
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	for i, row := range rows {
		r := st.Record(ID(i))
		v, _ := r.Key(row[3])
		if got := [5]string{r.Kind, r.Status, r.Currency, row[3], v}; got != row || r.Prov.Loc != fmt.Sprint("f", i) {
			t.Errorf("record %d: %v at %s, want %v at f%d", i, got, r.Prov.Loc, row, i)
		}
	}
}

// TestMemoryLargeValuesOnce: a writer's large values are shared by its
// segments, so Memory counts them once however many segments it has.
func TestMemoryLargeValuesOnce(t *testing.T) {
	st := NewStore([]string{"order_id"}, nil)
	w := st.Writer("s")
	big := strings.Repeat("x", 100_000)
	if err := w.Add(&Record{Kind: "k", Time: time.Unix(0, 0), Attrs: []KV{{"trace", big}}}); err != nil {
		t.Fatal(err)
	}
	// Far in time from the first: a second segment.
	if err := w.Add(&Record{Kind: "k", Time: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	st.Seal()
	if got := st.Memory().Records; got >= 2*len(big) {
		t.Errorf("Memory counts %d bytes of records for one %d-byte large value: counted once per segment", got, len(big))
	}
}

// BenchmarkAppendValue: encoding an event id, a UUID behind a prefix.
func BenchmarkAppendValue(b *testing.B) {
	v := "evt_5dd4c7a1-52f7-43b6-ad91-26624276254e"
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = appendValue(buf[:0], v)
	}
}

// TestKeyOrder: a writer remembers the type of each key position; keys
// given in another order, a different set, or an unknown name must not
// be taken for the previous record's.
func TestKeyOrder(t *testing.T) {
	st := NewStore([]string{"order_id", "event_id", "charge_id"}, nil)
	w := st.Writer("s")
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	recs := [][]KV{
		{{"order_id", "o1"}, {"event_id", "e1"}},
		{{"event_id", "e2"}, {"order_id", "o2"}},
		{{"charge_id", "c3"}},
		{{"order_id", "o4"}, {"event_id", ""}, {"charge_id", "c4"}},
		{{"order_id", "o5"}, {"charge_id", "c5"}},
	}
	for i, keys := range recs {
		if err := w.Add(&Record{Kind: "k", Time: at, Keys: keys, Prov: Provenance{Loc: "f", Pos: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Add(&Record{Kind: "k", Time: at, Keys: []KV{{"order_id", "o6"}, {"evnt_id", "e6"}}}); err == nil || !strings.Contains(err.Error(), "evnt_id") {
		t.Errorf("an unknown key type: %v", err)
	}
	st.Seal()
	for i, keys := range recs {
		for _, k := range keys {
			got, ok := st.KeyOf(ID(i), st.KeyTypeIndex(k.Name))
			if got != k.Value || ok != (k.Value != "") {
				t.Errorf("record %d: %s = %q (%v), want %q", i, k.Name, got, ok, k.Value)
			}
		}
	}
}

// BenchmarkAddDistinct measures storing records whose key values are all
// new (as event ids are): interning dominates, table growth included.
func BenchmarkAddDistinct(b *testing.B) {
	st := NewStore([]string{"event_id", "order_id"}, nil)
	w := st.Writer("events")
	r := Record{Kind: "event", Time: time.Unix(1_700_000_000, 0), Prov: Provenance{Source: "events", Loc: "events.jsonl"}}
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// The value views a reused buffer, as a source's would.
		buf = fmt.Appendf(buf[:0], "evt_%08x", i)
		r.Keys = append(r.Keys[:0], KV{"event_id", bstring(buf)}, KV{"order_id", "ORD-1"})
		r.Prov.Pos = int64(i)
		if err := w.Add(&r); err != nil {
			b.Fatal(err)
		}
	}
}

// uvarintLen must give the length binary.AppendUvarint writes.
func TestUvarintLen(t *testing.T) {
	for _, x := range []uint64{0, 1, 127, 128, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		if got, want := uvarintLen(x), len(binary.AppendUvarint(nil, x)); got != want {
			t.Errorf("uvarintLen(%d) = %d, want %d", x, got, want)
		}
	}
}
