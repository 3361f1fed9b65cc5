package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
)

// Row is one input row of the conformance data set. A harness stores each
// field under the name Fields lists, in its medium's natural type: the
// time as a timestamp where the medium has one, nil as NULL/absent.
type Row struct {
	ID       string
	Order    string
	Status   string
	Amount   int64
	Currency string
	Time     *time.Time
}

// Fields are the names a harness stores a Row's values under.
var Fields = []string{"id", "order_id", "status", "amount", "currency", "created_at"}

// Values returns the row's values in Fields order, as text ("" for nil).
func (r Row) Values() []string {
	ts := ""
	if r.Time != nil {
		ts = r.Time.UTC().Format(time.RFC3339)
	}
	return []string{r.ID, r.Order, r.Status, strconv.FormatInt(r.Amount, 10), r.Currency, ts}
}

// Bad reports whether the row cannot become a record: no time, or a
// currency that is not an ISO code.
func (r Row) Bad() bool { return r.Time == nil || len(r.Currency) != 3 }

// KeyTypes are the key types Spec maps.
var KeyTypes = []string{"item_id", "order_id"}

// Kind is the kind Spec gives every record.
const Kind = "item"

// Spec returns the raw record mapping of the data set; path turns a name
// of Fields into the medium's field path (a column, value.id, ...).
func Spec(path func(field string) string) map[string]any {
	return map[string]any{
		"kind":   Kind,
		"keys":   map[string]any{"item_id": path("id"), "order_id": path("order_id")},
		"time":   path("created_at"),
		"status": path("status"),
		"amount": map[string]any{"value": path("amount"), "currency": path("currency")},
	}
}

// Base is the time of the first row.
var Base = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// Rows returns n rows a minute apart from Base. With bad, rows 5, 25,
// 45, ... have no time and rows 15, 35, ... a bad currency.
func Rows(n int, bad bool) []Row {
	rows := make([]Row, n)
	for i := range rows {
		t := Base.Add(time.Duration(i) * time.Minute)
		rows[i] = Row{
			ID:       fmt.Sprintf("IT-%06d", i),
			Order:    fmt.Sprintf("ORD-%05d", i/3),
			Status:   []string{"new", "paid", "shipped"}[i%3],
			Amount:   int64(100 + i),
			Currency: "EUR",
			Time:     &t,
		}
		if bad && i%20 == 5 {
			rows[i].Time = nil
		}
		if bad && i%20 == 15 {
			rows[i].Currency = "EURO"
		}
	}
	return rows
}

// Harness adapts one source type to the suite.
type Harness struct {
	// Load stores rows in a new place of its medium and returns a source
	// that reads them with the mapping of Spec, and the provenance each row
	// must get, in the order of rows. It is called several times per test.
	Load func(t *testing.T, rows []Row) (sources.Source, []record.Provenance)
	// StreamRows is the size of the streaming test (default 150000).
	StreamRows int
}

var errStrict = errors.New("sourcetest: strict mode stops here")

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	t.Run("records", func(t *testing.T) { testRecords(t, h) })
	t.Run("window", func(t *testing.T) { testWindow(t, h) })
	t.Run("strict", func(t *testing.T) { testStrict(t, h) })
	t.Run("cancel", func(t *testing.T) { testCancel(t, h) })
	t.Run("streaming", func(t *testing.T) { testStreaming(t, h) })
}

func read(t *testing.T, ctx context.Context, src sources.Source, w sources.Window, sink *Sink) (sources.Coverage, error) {
	t.Helper()
	cov, err := src.Read(ctx, w, sink)
	if n := sink.Unclosed(); n != 0 {
		t.Errorf("%d writer(s) not closed", n)
	}
	return cov, err
}

func endOf(rows []Row) time.Time { return Base.Add(time.Duration(len(rows)+10) * time.Minute) }

// testRecords: every good row becomes exactly one record with the right
// fields and provenance; every bad row is reported with its location; the
// read is complete, covers the records and is the same when repeated.
func testRecords(t *testing.T, h Harness) {
	rows := Rows(60, true)
	src, where := h.Load(t, rows)
	if len(where) != len(rows) {
		t.Fatalf("harness returned %d provenances for %d rows", len(where), len(rows))
	}
	w := sources.Window{Until: endOf(rows)}
	var runs [2][]string
	for run := range runs {
		sink := &Sink{}
		cov, err := read(t, context.Background(), src, w, sink)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if !cov.Complete {
			t.Error("coverage not complete after a read without error")
		}
		if cov.Until.After(w.Until) {
			t.Errorf("coverage until %s is after the window's until %s", cov.Until, w.Until)
		}
		byProv := map[string]record.Record{}
		for _, r := range sink.Records {
			p := r.Prov.String()
			if _, dup := byProv[p]; dup {
				t.Errorf("two records with provenance %s", p)
			}
			byProv[p] = r
			runs[run] = append(runs[run], p)
		}
		bads := map[string]Bad{}
		for _, b := range sink.Bads {
			bads[b.At.String()] = b
		}
		good := 0
		for i, row := range rows {
			p := where[i].String()
			if row.Bad() {
				if _, ok := bads[p]; !ok {
					t.Errorf("row %d (bad) at %s was not reported as bad (bad: %v)", i, p, keys(bads))
				}
				if _, ok := byProv[p]; ok {
					t.Errorf("row %d (bad) at %s became a record", i, p)
				}
				continue
			}
			good++
			r, ok := byProv[p]
			if !ok {
				t.Errorf("row %d: no record with provenance %s", i, p)
				continue
			}
			checkRecord(t, i, row, r)
			if cov.Complete && !cov.Covers(r.Time) {
				t.Errorf("row %d: coverage %v..%v does not cover its time %s", i, cov.Since, cov.Until, r.Time)
			}
		}
		if len(sink.Records) != good {
			t.Errorf("got %d records, want %d", len(sink.Records), good)
		}
		if len(sink.Bads) != len(rows)-good {
			t.Errorf("got %d bad inputs, want %d: %v", len(sink.Bads), len(rows)-good, keys(bads))
		}
		slices.Sort(runs[run])
	}
	if !slices.Equal(runs[0], runs[1]) {
		t.Error("two reads of the same data gave different records")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func checkRecord(t *testing.T, i int, row Row, r record.Record) {
	t.Helper()
	if r.Kind != Kind {
		t.Errorf("row %d: kind %q, want %q", i, r.Kind, Kind)
	}
	if v, _ := r.Key("item_id"); v != row.ID {
		t.Errorf("row %d: item_id %q, want %q", i, v, row.ID)
	}
	if v, _ := r.Key("order_id"); v != row.Order {
		t.Errorf("row %d: order_id %q, want %q", i, v, row.Order)
	}
	if r.Status != row.Status {
		t.Errorf("row %d: status %q, want %q", i, r.Status, row.Status)
	}
	if !r.HasAmount || r.Amount != row.Amount || r.Currency != row.Currency {
		t.Errorf("row %d: amount %d %s (has %v), want %d %s", i, r.Amount, r.Currency, r.HasAmount, row.Amount, row.Currency)
	}
	if !r.Time.Equal(*row.Time) || r.Time.Location() != time.UTC {
		t.Errorf("row %d: time %s, want %s in UTC", i, r.Time, row.Time)
	}
}

// testWindow: with a window, every row inside both the window and the
// coverage the source claims is read.
func testWindow(t *testing.T, h Harness) {
	rows := Rows(90, false)
	src, where := h.Load(t, rows)
	w := sources.Window{Since: Base.Add(30 * time.Minute), Until: Base.Add(60 * time.Minute)}
	sink := &Sink{}
	cov, err := read(t, context.Background(), src, w, sink)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !cov.Complete {
		t.Fatal("coverage not complete after a read without error")
	}
	if cov.Until.After(w.Until) {
		t.Errorf("coverage until %s is after the window's until %s", cov.Until, w.Until)
	}
	got := map[string]bool{}
	for _, r := range sink.Records {
		got[r.Prov.String()] = true
	}
	lo, hi := w.Since, cov.Until
	if cov.Since.After(lo) {
		lo = cov.Since
	}
	n := 0
	for i, row := range rows {
		if row.Time.Before(lo) || row.Time.After(hi) {
			continue
		}
		n++
		if !got[where[i].String()] {
			t.Errorf("row %d at %s (%s) is inside the window and the coverage [%s, %s] but was not read", i, where[i], row.Time, lo, hi)
		}
	}
	if n == 0 {
		t.Errorf("the coverage [%s, %s] holds no row of the window", lo, hi)
	}
}

// testStrict: when the sink refuses bad input, the source stops and
// returns that error, and says the read is incomplete.
func testStrict(t *testing.T, h Harness) {
	rows := Rows(40, true)
	src, _ := h.Load(t, rows)
	sink := &Sink{OnBad: func(Bad) error { return errStrict }}
	cov, err := read(t, context.Background(), src, sources.Window{Until: endOf(rows)}, sink)
	if !errors.Is(err, errStrict) {
		t.Fatalf("Read returned %v, want the sink's strict-mode error", err)
	}
	if cov.Complete {
		t.Error("coverage complete after a strict-mode stop")
	}
}

// testCancel: cancelling the context stops the read promptly, with an
// error that says so and an incomplete coverage.
func testCancel(t *testing.T, h Harness) {
	rows := Rows(5000, false)
	src, _ := h.Load(t, rows)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &Sink{Discard: true, OnRecord: func(n int, _ *record.Record) error {
		if n == 10 {
			cancel()
		}
		return nil
	}}
	start := time.Now()
	cov, err := read(t, ctx, src, sources.Window{Until: endOf(rows)}, sink)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel returned %v, want an error wrapping context.Canceled", err)
	}
	if cov.Complete {
		t.Error("coverage complete after cancellation")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Read took %s to stop after cancellation", d)
	}
	if sink.N >= len(rows) {
		t.Errorf("all %d records were read despite the cancellation", sink.N)
	}
}

// testStreaming: the source hands records on as it reads: the live heap
// while reading stays far below what holding every row would need.
func testStreaming(t *testing.T, h Harness) {
	n := h.StreamRows
	if n == 0 {
		n = 150000
	}
	rows := Rows(n, false)
	src, _ := h.Load(t, rows)
	rows = nil
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	// A first read warms up whatever the medium caches when read (an
	// in-process broker may keep encoded batches): only the second read's
	// growth is the source's.
	warm := &Sink{Discard: true}
	if _, err := read(t, context.Background(), src, sources.Window{Until: Base.Add(time.Duration(n+10) * time.Minute)}, warm); err != nil {
		t.Fatalf("Read: %v", err)
	}
	base := live()
	var peak int64
	sink := &Sink{Discard: true, OnRecord: func(i int, _ *record.Record) error {
		if i == n/2 || i == n*9/10 {
			if d := live() - base; d > peak {
				peak = d
			}
		}
		return nil
	}}
	cov, err := read(t, context.Background(), src, sources.Window{Until: Base.Add(time.Duration(n+10) * time.Minute)}, sink)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !cov.Complete || sink.N != n {
		t.Fatalf("read %d of %d records (complete %v)", sink.N, n, cov.Complete)
	}
	// Holding every row would take well over 100 bytes a row.
	limit := int64(n) * 40
	t.Logf("live heap grew by at most %d KiB while reading %d rows (limit %d KiB)", peak>>10, n, limit>>10)
	if peak > limit {
		t.Errorf("live heap grew by %d KiB while reading %d rows: the source seems to hold the rows instead of streaming them", peak>>10, n)
	}
}
