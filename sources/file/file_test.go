package file_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/sources/sourcetest"

	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/file"
)

// collect keeps what a source hands it (the conformance suite's sink),
// with the bad inputs as "location error" lines.
type collect struct {
	sourcetest.Sink
	strict bool
}

func (c *collect) bad() []string {
	var out []string
	for _, b := range c.Bads {
		out = append(out, b.At.String()+" "+b.Err.Error())
	}
	return out
}

func newCollect(strict bool) *collect {
	c := &collect{strict: strict}
	if strict {
		c.OnBad = func(sourcetest.Bad) error { return errors.New("strict") }
	}
	return c
}

var keyTypes = []string{"order_id", "charge_id"}

func newSource(t testing.TB, dir string, raw map[string]any) sources.Source {
	t.Helper()
	src, err := file.New(sources.Config{Name: "src", Type: "file", Dir: dir, KeyTypes: keyTypes, Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func read(t testing.TB, src sources.Source) (*collect, sources.Coverage, error) {
	t.Helper()
	c := newCollect(false)
	cov, err := src.Read(context.Background(), sources.Window{Until: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, c)
	return c, cov, err
}

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func chargeMapping(path string) map[string]any {
	return map[string]any{"records": []any{map[string]any{
		"kind":   "charge",
		"path":   path,
		"keys":   map[string]any{"charge_id": "id", "order_id": "meta.order"},
		"time":   "created",
		"status": map[string]any{"field": "status", "map": map[string]any{"paid": "succeeded"}},
		"amount": map[string]any{"value": "amount", "currency": "currency", "format": "decimal"},
	}}}
}

const chargesCSV = "id,meta.order,created,status,amount,currency\n" +
	"ch_1,ORD-1,2026-11-20T10:00:00Z,Paid,45.99,eur\n" +
	"ch_2,ORD-2,not a time,paid,1.00,EUR\n" +
	"ch_3,,2026-11-20T10:05:00Z,failed,1000,jpy\n" +
	"ch_4,ORD-4,2026-11-20T10:06:00Z,paid,12.345,EUR\n" +
	"ch_5,ORD-5\n"

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", chargesCSV)
	c, cov, err := read(t, newSource(t, dir, chargeMapping("charges.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Records) != 2 {
		t.Fatalf("%d records, want 2: %+v", len(c.Records), c.Records)
	}
	r := c.Records[0]
	if r.Kind != "charge" || r.Status != "succeeded" || r.Amount != 4599 || r.Currency != "EUR" || r.Prov.String() != "src:charges.csv:2" {
		t.Errorf("first record %+v (%s)", r, r.Prov)
	}
	if v, _ := r.Key("order_id"); v != "ORD-1" {
		t.Errorf("order_id %q", v)
	}
	if r := c.Records[1]; r.Amount != 1000 || r.Currency != "JPY" || len(r.Keys) != 1 {
		t.Errorf("JPY record %+v: amounts in a zero-decimal currency, empty keys left out", r)
	}
	want := []string{
		`src:charges.csv:3 time (field "created"): "not a time" is not an RFC 3339 time`,
		`src:charges.csv:5 amount (field "amount"): amount "12.345" has 3 decimals but EUR has 2`,
		`src:charges.csv:6 row has 2 fields, the header has 6`,
	}
	bad := c.bad()
	slices.Sort(bad) // rows are mapped in parallel: bad input arrives in any order
	if strings.Join(bad, "\n") != strings.Join(want, "\n") {
		t.Errorf("bad input:\n%s\nwant:\n%s", strings.Join(bad, "\n"), strings.Join(want, "\n"))
	}
	if !cov.Complete || !cov.Until.Equal(time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC)) {
		t.Errorf("coverage %+v: want complete until the last record", cov)
	}
}

func TestMissingColumnAndFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", "id,created,status,amount,currency\nch_1,2026-11-20T10:00:00Z,paid,1.00,EUR\n")
	c, _, err := read(t, newSource(t, dir, chargeMapping("charges.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.bad()) != 1 || !strings.Contains(c.bad()[0], `src:charges.csv:1 header lacks column "meta.order"`) || len(c.Records) != 1 {
		t.Errorf("missing column: bad %v, %d records", c.bad(), len(c.Records))
	}

	_, _, err = read(t, newSource(t, dir, chargeMapping("nope.csv")))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope.csv")) || !strings.Contains(err.Error(), "read from the data directory "+dir+": check the path") {
		t.Errorf("missing file: error %v must name the path and where it was looked for", err)
	}
	_, _, err = read(t, newSource(t, filepath.Join(dir, "nodir"), chargeMapping("charges.csv")))
	if err == nil || !strings.Contains(err.Error(), "the data directory "+filepath.Join(dir, "nodir")+" does not exist: check data_dir") {
		t.Errorf("missing data directory: error %v must say so", err)
	}
	_, _, err = read(t, newSource(t, dir, chargeMapping("exports/charges-*.csv")))
	if err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("empty glob: error %v", err)
	}
}

func TestJSONFormatsAndGzip(t *testing.T) {
	dir := t.TempDir()
	lines := `{"id":"ch_1","meta":{"order":"ORD-1"},"created":"2026-11-20T10:00:00Z","status":"paid","amount":45.99,"currency":"EUR"}
{"id":"ch_2","meta":{"order":null},"created":"2026-11-20T10:01:00+01:00","status":"paid","amount":"10","currency":"EUR"}
{broken
[1,2]

{"id":"ch_3","created":"2026-11-20T10:02:00Z","status":"paid","amount":"1.5","currency":"USD"}`
	write(t, dir, "a.jsonl", lines)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(lines))
	zw.Close()
	write(t, dir, "b.jsonl.gz", gz.String())
	write(t, dir, "c.json", "[\n"+strings.Join(strings.Split(strings.ReplaceAll(lines, "\n\n", "\n"), "\n"), ",\n")+"\n]")
	for _, name := range []string{"a.jsonl", "b.jsonl.gz", "c.json"} {
		t.Run(name, func(t *testing.T) {
			raw := chargeMapping(name)
			c, _, err := read(t, newSource(t, dir, raw))
			if name == "c.json" {
				// "{broken" breaks the array's structure: the rest cannot be split.
				if err != nil || len(c.Records) != 2 || len(c.bad()) != 1 || !strings.Contains(c.bad()[0], "src:c.json:4") {
					t.Fatalf("err %v, %d records, bad %v", err, len(c.Records), c.bad())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Records) != 3 || len(c.bad()) != 2 {
				t.Fatalf("%d records, bad %v", len(c.Records), c.bad())
			}
			if !strings.HasSuffix(strings.Fields(c.bad()[0])[0], ":3") || !strings.HasSuffix(strings.Fields(c.bad()[1])[0], ":4") {
				t.Errorf("bad lines %v: want lines 3 and 4", c.bad())
			}
			if r := c.Records[1]; !r.Time.Equal(time.Date(2026, 11, 20, 9, 1, 0, 0, time.UTC)) || r.Amount != 1000 || len(r.Keys) != 1 {
				t.Errorf("record 2: %+v; times are UTC, null keys are absent", r)
			}
			if r := c.Records[2]; r.Prov.Pos != 6 || r.Amount != 150 {
				t.Errorf("record 3 at line %d amount %d, want line 6, 150", r.Prov.Pos, r.Amount)
			}
		})
	}
}

// TestTruncatedGzipCSV: a .csv.gz cut off mid-stream is a read error
// that names the file (the source fails, the run is incomplete), as for
// JSON lines; it is not bad input on a line, and reading stops.
func TestTruncatedGzipCSV(t *testing.T) {
	dir := t.TempDir()
	var csvText strings.Builder
	csvText.WriteString("id,meta.order,created,status,amount,currency\n")
	for i := 0; i < 5000; i++ {
		csvText.WriteString("ch_1,ORD-1,2026-11-20T10:00:00Z,paid,1.00,EUR\n")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(csvText.String()))
	zw.Close()
	// Cut in the rows, and in the header.
	for _, size := range []int{gz.Len() / 2, 24} {
		write(t, dir, "charges.csv.gz", gz.String()[:size])
		c := newCollect(false)
		var bad atomic.Int32
		c.OnBad = func(sourcetest.Bad) error {
			if bad.Add(1) > 100 {
				return errors.New("the reader keeps reporting bad input")
			}
			return nil
		}
		_, err := newSource(t, dir, chargeMapping("charges.csv.gz")).Read(context.Background(), sources.Window{Until: time.Now()}, c)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "charges.csv.gz")) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d bytes: error %v: want the file's read error", size, err)
		}
		if len(c.Bads) != 0 {
			t.Errorf("cut at %d bytes: %d bad inputs (first: %s): a read error is not bad input", size, len(c.Bads), c.bad()[0])
		}
	}
}

// TestByteOrderMark: a file that starts with a UTF-8 byte order mark
// (Windows tools write one) reads like one without, in every format.
func TestByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	const bom = "\ufeff"
	obj := `{"id":"ch_1","meta":{"order":"ORD-1"},"created":"2026-11-20T10:00:00Z","status":"paid","amount":"1.00","currency":"EUR"}`
	write(t, dir, "a.csv", bom+"id,meta.order,created,status,amount,currency\nch_1,ORD-1,2026-11-20T10:00:00Z,paid,1.00,EUR\n")
	write(t, dir, "a.jsonl", bom+obj+"\n")
	write(t, dir, "a.json", bom+"["+obj+"]")
	for _, name := range []string{"a.csv", "a.jsonl", "a.json"} {
		c, _, err := read(t, newSource(t, dir, chargeMapping(name)))
		if err != nil || len(c.Records) != 1 || len(c.bad()) != 0 {
			t.Errorf("%s: err %v, %d records, bad %v", name, err, len(c.Records), c.bad())
		}
	}
}

func TestWhenFilters(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", chargesCSV)
	raw := chargeMapping("charges.csv")
	raw["records"].([]any)[0].(map[string]any)["when"] = `status == "succeeded"`
	c, _, err := read(t, newSource(t, dir, raw))
	if err != nil {
		t.Fatal(err)
	}
	// ch_3 is excluded by `when`: filtered, not bad; ch_2 fails its time
	// parse only after passing the filter.
	if len(c.Records) != 1 || c.Filtered != 1 || len(c.bad()) != 3 {
		t.Errorf("%d records, %d filtered, bad %v", len(c.Records), c.Filtered, c.bad())
	}
}

func TestStrictAndCancel(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", chargesCSV)
	src := newSource(t, dir, chargeMapping("charges.csv"))
	c := newCollect(true)
	_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, c)
	if err == nil || len(c.Records) > 1 {
		t.Errorf("strict: err %v after %d records; want a stop at a bad row", err, len(c.Records))
	}
	var big strings.Builder
	big.WriteString("id,meta.order,created,status,amount,currency\n")
	for i := 0; i < 50000; i++ {
		big.WriteString("ch_1,ORD-1,2026-11-20T10:00:00Z,paid,1.00,EUR\n")
	}
	write(t, dir, "big.csv", big.String())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newSource(t, dir, chargeMapping("big.csv")).Read(ctx, sources.Window{Until: time.Now()}, newCollect(false))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{}, "records: at least one"},
		{map[string]any{"records": []any{map[string]any{"kind": "x", "time": "t"}}}, "records[0].path: required"},
		{map[string]any{"records": []any{map[string]any{"kind": "x", "time": "t", "path": "a.xml"}}}, "cannot tell the format"},
		{map[string]any{"coverage": map[string]any{"until": "soon"}, "records": []any{map[string]any{"kind": "x", "time": "t", "path": "a.csv"}}}, "coverage.until"},
		{map[string]any{"records": []any{map[string]any{"kind": "x", "path": "a.csv"}}}, "time: required"},
		{map[string]any{"records": []any{map[string]any{"kind": "x", "time": "t", "path": "a.jsonl", "delimiter": ";"}}}, "records[0].delimiter: only CSV has one, and a.jsonl is read as jsonl"},
	} {
		_, err := file.New(sources.Config{Name: "s", Type: "file", KeyTypes: keyTypes, Raw: tt.raw})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.raw, err, tt.want)
		}
	}
}

// FuzzCSV feeds arbitrary CSV through the file source: it must not panic,
// and every data row encoding/csv can split must come out as a record, a
// bad input or a filtered row — nothing lost.
func FuzzCSV(f *testing.F) {
	f.Add(chargesCSV)
	f.Add("id,meta.order,created,status,amount,currency\n\"ch,1\",ORD-1,2026-11-20T10:00:00Z,paid,\"1.00\",EUR\n")
	f.Add("id,created\n\"unterminated,2026\n")
	f.Add("\ufeffid,meta.order,created,status,amount,currency\nch_1,ORD-1,1700000000,paid,-0.5,KWD\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		write(t, dir, "f.csv", data)
		c, _, err := read(t, newSource(t, dir, chargeMapping("f.csv")))
		if err != nil {
			t.Fatalf("bad input must not fail the read: %v", err)
		}
		cr := csv.NewReader(strings.NewReader(data))
		cr.FieldsPerRecord = -1
		rows, perr := cr.ReadAll()
		if perr != nil || len(rows) == 0 {
			return
		}
		n := len(rows) - 1 // encoding/csv skips blank lines itself
		missingCols := 0
		for _, b := range c.bad() {
			if strings.Contains(b, "header lacks column") {
				missingCols++
			}
		}
		if got := len(c.Records) + len(c.bad()) - missingCols + c.Filtered; got != n {
			t.Errorf("%d rows in, %d records + %d bad + %d filtered out", n, len(c.Records), len(c.bad())-missingCols, c.Filtered)
		}
	})
}

// FuzzJSONL feeds arbitrary JSON lines through the file source: every
// non-blank line becomes exactly one record or one bad input.
func FuzzJSONL(f *testing.F) {
	f.Add(`{"id":"ch_1","meta":{"order":"ORD-1"},"created":"2026-11-20T10:00:00Z","status":"paid","amount":45.99,"currency":"EUR"}`)
	f.Add("{\"id\":\"a\"}\n{broken\n\n[1]\n{\"created\":\"2026-11-20T10:00:00.123456789-07:30\",\"amount\":1e3,\"currency\":\"eur\"}")
	f.Add(`{"id":"\u00e9\ud83d\ude00","created":"2026-02-29T00:00:00Z","amount":"99999999999999999999","currency":"USD"}`)
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		write(t, dir, "f.jsonl", data)
		c, _, err := read(t, newSource(t, dir, chargeMapping("f.jsonl")))
		if err != nil {
			t.Fatalf("bad input must not fail the read: %v", err)
		}
		n := 0
		for _, line := range strings.Split(data, "\n") {
			if strings.TrimSpace(line) != "" {
				n++
			}
		}
		if got := len(c.Records) + len(c.bad()) + c.Filtered; got != n {
			t.Errorf("%d lines in, %d records + %d bad + %d filtered out", n, len(c.Records), len(c.bad()), c.Filtered)
		}
	})
}

// TestOneReadForSeveralKinds maps one file as two record kinds. The file is
// a named pipe, which can be read only once (as a `<(zcat ...)` would be):
// both kinds must still get every row, and a row that does not parse is
// reported for each kind it would have become.
func TestOneReadForSeveralKinds(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		lines         [2]string // where ORD-1 and ORD-2 are
		wantBad       []string
	}{
		{
			name: "orders.csv",
			content: "id,status,created,updated\n" +
				"ORD-1,confirmed,2026-11-20T10:00:00Z,2026-11-20T10:00:00Z\n" +
				"ORD-2,failed,2026-11-20T10:01:00Z,2026-11-20T10:03:00Z\n" +
				"ORD-3\n",
			lines: [2]string{"2", "3"},
			wantBad: []string{
				"src:orders.csv:4 row has 1 fields, the header has 4",
				"src:orders.csv:4 row has 1 fields, the header has 4",
			},
		},
		{
			name: "orders.jsonl",
			content: `{"id":"ORD-1","status":"confirmed","created":"2026-11-20T10:00:00Z","updated":"2026-11-20T10:00:00Z"}` + "\n" +
				`{"id":"ORD-2","status":"failed","created":"2026-11-20T10:01:00Z","updated":"2026-11-20T10:03:00Z"}` + "\n" +
				`{"id":"ORD-3",` + "\n",
			lines: [2]string{"1", "2"},
			wantBad: []string{
				"src:orders.jsonl:3 invalid JSON: cannot find opening '\"\" for object key",
				"src:orders.jsonl:3 invalid JSON: cannot find opening '\"\" for object key",
			},
		},
		{
			name: "orders.json",
			content: "[\n" + `{"id":"ORD-1","status":"confirmed","created":"2026-11-20T10:00:00Z","updated":"2026-11-20T10:00:00Z"},` + "\n" +
				`{"id":"ORD-2","status":"failed","created":"2026-11-20T10:01:00Z","updated":"2026-11-20T10:03:00Z"},` + "\n" +
				`42` + "\n]\n",
			lines: [2]string{"2", "3"},
			wantBad: []string{
				"src:orders.json:4 expected a JSON object, got number",
				"src:orders.json:4 expected a JSON object, got number",
				"src:orders.json:4 expected a JSON object, got number",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pipe := filepath.Join(dir, tc.name)
			if err := syscall.Mkfifo(pipe, 0o600); err != nil {
				t.Skipf("no named pipes here: %v", err)
			}
			go func() {
				f, err := os.OpenFile(pipe, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				f.WriteString(tc.content)
				f.Close()
			}()
			raw := map[string]any{"records": []any{
				map[string]any{"kind": "order", "path": tc.name, "keys": map[string]any{"order_id": "id"}, "time": "created", "status": "status"},
				map[string]any{"kind": "order_failed", "path": tc.name, "keys": map[string]any{"order_id": "id"}, "time": "updated", "status": "status", "when": `status == "failed"`},
				map[string]any{"kind": "order_note", "path": tc.name, "keys": map[string]any{"order_id": "id"}, "time": "created", "attrs": map[string]any{"note": "note"}},
			}}
			switch {
			case strings.HasSuffix(tc.name, ".csv"):
				// a column only the third kind reads, missing from the header
				tc.wantBad = append(tc.wantBad, `src:orders.csv:1 header lacks column "note" (it has "id", "status", "created", "updated"); rows are read with that field empty`, "src:orders.csv:4 row has 1 fields, the header has 4")
			case strings.HasSuffix(tc.name, ".jsonl"):
				tc.wantBad = append(tc.wantBad, "src:orders.jsonl:3 invalid JSON: cannot find opening '\"\" for object key")
			}
			done := make(chan struct{})
			var c *collect
			var err error
			go func() {
				defer close(done)
				c, _, err = read(t, newSource(t, dir, raw))
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("reading the pipe did not finish: the file was opened more than once")
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range c.Records {
				id, _ := r.Key("order_id")
				got = append(got, r.Kind+" "+id+" "+r.Time.Format(time.RFC3339)+" "+r.Prov.String())
			}
			slices.Sort(got)
			at := "src:" + tc.name + ":"
			want := []string{
				"order ORD-1 2026-11-20T10:00:00Z " + at + tc.lines[0],
				"order ORD-2 2026-11-20T10:01:00Z " + at + tc.lines[1],
				"order_failed ORD-2 2026-11-20T10:03:00Z " + at + tc.lines[1],
				"order_note ORD-1 2026-11-20T10:00:00Z " + at + tc.lines[0],
				"order_note ORD-2 2026-11-20T10:01:00Z " + at + tc.lines[1],
			}
			slices.Sort(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if c.Filtered != 1 {
				t.Errorf("filtered %d, want 1 (ORD-1 is not failed)", c.Filtered)
			}
			bad := c.bad()
			slices.Sort(bad)
			slices.Sort(tc.wantBad)
			if strings.Join(bad, "\n") != strings.Join(tc.wantBad, "\n") {
				t.Errorf("bad input:\n%s\nwant:\n%s", strings.Join(bad, "\n"), strings.Join(tc.wantBad, "\n"))
			}
		})
	}
}

// TestAbsolutePaths: an absolute path (or dir) is used as written, not
// joined under the data directory, and provenance names it whole.
func TestAbsolutePaths(t *testing.T) {
	exports := t.TempDir()
	write(t, exports, "charges.csv", chargesCSV)
	abs := filepath.Join(exports, "charges.csv")
	for _, raw := range []map[string]any{
		chargeMapping(abs),
		func() map[string]any { m := chargeMapping("charges.csv"); m["dir"] = exports; return m }(),
	} {
		c, _, err := read(t, newSource(t, t.TempDir(), raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Records) != 2 {
			t.Fatalf("%d records, want 2", len(c.Records))
		}
		want := "src:charges.csv:2"
		if _, ok := raw["dir"]; !ok {
			want = "src:" + filepath.ToSlash(abs) + ":2"
		}
		if got := c.Records[0].Prov.String(); got != want {
			t.Errorf("provenance %s, want %s", got, want)
		}
	}
}

// TestProvenancePerEntry: two entries read one file, one by an absolute
// path and one relative to the data directory; each names it as written.
func TestProvenancePerEntry(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", chargesCSV)
	abs := filepath.Join(dir, "charges.csv")
	rel := chargeMapping("charges.csv")["records"].([]any)[0].(map[string]any)
	other := chargeMapping(abs)["records"].([]any)[0].(map[string]any)
	other["kind"] = "charge_seen"
	for _, order := range [][]any{{rel, other}, {other, rel}} {
		c, _, err := read(t, newSource(t, dir, map[string]any{"records": order}))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range c.Records {
			got = append(got, r.Kind+" "+r.Prov.String())
		}
		slices.Sort(got)
		want := []string{
			"charge src:charges.csv:2", "charge src:charges.csv:4",
			"charge_seen src:" + filepath.ToSlash(abs) + ":2", "charge_seen src:" + filepath.ToSlash(abs) + ":4",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestGlobOfJSONArrays reads several JSON array files one glob matches, at
// once, through one mapping with a status map and a when filter: each file
// needs its own copy of the mapper's caches (go test -race checks it).
func TestGlobOfJSONArrays(t *testing.T) {
	dir := t.TempDir()
	const files, rows = 6, 3000
	for f := range files {
		var b strings.Builder
		b.WriteString("[\n")
		for i := range rows {
			if i > 0 {
				b.WriteString(",\n")
			}
			status := []string{"paid", "failed", "pending"}[i%3]
			fmt.Fprintf(&b, `{"id":"ch_%d_%d","created":"2026-11-20T10:%02d:00Z","status":%q,"amount":"%d.00","currency":"eur"}`, f, i, i%60, status, 1+i%50)
		}
		b.WriteString("\n]\n")
		write(t, dir, fmt.Sprintf("part-%d.json", f), b.String())
	}
	raw := chargeMapping("part-*.json")
	m := raw["records"].([]any)[0].(map[string]any)
	m["status"] = map[string]any{"field": "status", "map": map[string]any{"paid": "succeeded", "failed": "failed"}}
	m["when"] = `status != "pending"`
	c, _, err := read(t, newSource(t, dir, raw))
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[string]int{}
	for _, r := range c.Records {
		byStatus[r.Status]++
	}
	want := files * rows / 3
	if byStatus["succeeded"] != want || byStatus["failed"] != want || len(byStatus) != 2 || c.Filtered != want || len(c.Bads) != 0 {
		t.Errorf("records by status %v, filtered %d, bad %v; want %d succeeded, %d failed, %d filtered", byStatus, c.Filtered, c.bad(), want, want, want)
	}
}

// TestCancelBlockedPipe: cancelling a read stops it at once even when the
// source is a named pipe whose writer is idle (the read blocks) or absent
// (opening blocks), and the error says it was cancelled.
func TestCancelBlockedPipe(t *testing.T) {
	for _, writer := range []string{"idle", "absent"} {
		t.Run(writer, func(t *testing.T) {
			dir := t.TempDir()
			pipe := filepath.Join(dir, "events.jsonl")
			if err := syscall.Mkfifo(pipe, 0o600); err != nil {
				t.Skipf("no named pipes here: %v", err)
			}
			if writer == "idle" {
				if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
					t.Skip("Go does not poll pipes here: closing one does not end a blocked read")
				}
				opened := make(chan *os.File, 1)
				go func() {
					f, err := os.OpenFile(pipe, os.O_WRONLY, 0)
					if err != nil {
						opened <- nil
						return
					}
					f.WriteString(`{"id":"ORD-1","created":"2026-11-20T10:00:00Z"}` + "\n")
					opened <- f // held open, writing nothing more
				}()
				t.Cleanup(func() {
					if f := <-opened; f != nil {
						f.Close()
					}
				})
			}
			raw := map[string]any{"records": []any{
				map[string]any{"kind": "order", "path": "events.jsonl", "keys": map[string]any{"order_id": "id"}, "time": "created"},
			}}
			src := newSource(t, dir, raw)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := src.Read(ctx, sources.Window{Until: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, newCollect(false))
				done <- err
			}()
			time.Sleep(200 * time.Millisecond)
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("read ended with %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the read did not stop within 5 s of cancelling")
			}
		})
	}
}

// TestCSVShapes: a row with more values than the header (an unquoted comma
// in a text) is bad input like a short one, not read with its values
// shifted; empty trailing cells are fine; a header naming a mapped column
// twice fails the file; an empty file (not even a header) is bad input.
func TestCSVShapes(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", "id,meta.order,created,status,amount,currency\n"+
		"ch_1,ORD-1,2026-11-20T10:00:00Z,paid,45.99,eur\n"+
		"ch_2,ORD-2,2026-11-20T10:01:00Z,paid,thanks,1.00,EUR\n"+
		"ch_3,ORD-3,2026-11-20T10:02:00Z,paid,2.00,EUR,,\n")
	c, _, err := read(t, newSource(t, dir, chargeMapping("charges.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.bad(); len(got) != 1 || got[0] != "src:charges.csv:3 row has 7 fields, the header has 6" {
		t.Errorf("bad input %q; want the long row at line 3", got)
	}
	if len(c.Records) != 2 {
		t.Errorf("%d records, want ch_1 and ch_3 (its trailing cells are empty)", len(c.Records))
	}

	write(t, dir, "twice.csv", "id,meta.order,created,status,amount,currency,status\nch_1,ORD-1,2026-11-20T10:00:00Z,paid,45.99,eur,failed\n")
	_, _, err = read(t, newSource(t, dir, chargeMapping("twice.csv")))
	if err == nil || !strings.Contains(err.Error(), `twice.csv:1: the header has column "status" twice (columns 4 and 7)`) {
		t.Errorf("a mapped column twice: %v", err)
	}

	write(t, dir, "empty.csv", "")
	c, _, err = read(t, newSource(t, dir, chargeMapping("empty.csv")))
	if err != nil || len(c.bad()) != 1 || !strings.Contains(c.bad()[0], "src:empty.csv:1 the file is empty") {
		t.Errorf("empty file: err %v, bad %q", err, c.bad())
	}
}

// TestInvalidUTF8Key: a key with a damaged byte is bad input at its line,
// not a new key that opens an instance of its own.
func TestInvalidUTF8Key(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", "id,meta.order,created,status,amount,currency\n"+
		"ch_1,ORD-1\xff,2026-11-20T10:00:00Z,paid,45.99,eur\n"+
		"ch_2,ORD-2,2026-11-20T10:01:00Z,paid,1.00,EUR\n")
	c, _, err := read(t, newSource(t, dir, chargeMapping("charges.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.bad(); len(got) != 1 || !strings.HasPrefix(got[0], "src:charges.csv:2 ") || !strings.Contains(got[0], "is not valid UTF-8") {
		t.Errorf("bad input %q; want line 2's order_id", got)
	}
	if len(c.Records) != 1 {
		t.Errorf("%d records, want ch_2 only", len(c.Records))
	}
}

// TestInvalidUTF8SearchKey: a damaged byte in a key that only searches
// (keys.search: a customer name exported as Latin-1) costs the record
// nothing; the byte becomes U+FFFD. In a linking key it is still bad input.
func TestInvalidUTF8SearchKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", "id,meta.order,created,status,amount,currency\n"+
		"ch_M\xfcller,ORD-1,2026-11-20T10:00:00Z,paid,45.99,eur\n"+
		"ch_2,ORD-2\xff,2026-11-20T10:01:00Z,paid,1.00,EUR\n")
	src, err := file.New(sources.Config{Name: "src", Type: "file", Dir: dir, KeyTypes: keyTypes, SearchKeys: []string{"charge_id"}, Raw: chargeMapping("charges.csv")})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := read(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.bad(); len(got) != 1 || !strings.HasPrefix(got[0], "src:charges.csv:3 key order_id") {
		t.Errorf("bad input %q; want line 3's order_id only", got)
	}
	if len(c.Records) != 1 {
		t.Fatalf("%d records, want the first row's", len(c.Records))
	}
	var got string
	for _, k := range c.Records[0].Keys {
		if k.Name == "charge_id" {
			got = k.Value
		}
	}
	if got != "ch_M\uFFFDller" {
		t.Errorf("charge_id %q, want the damaged byte replaced", got)
	}
}

// TestHeaderCaseHint: a mapped column whose name differs only in case is
// named in the error, with what to do.
func TestHeaderCaseHint(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", "id,meta.order,created,Status,amount,currency\nch_1,ORD-1,2026-11-20T10:00:00Z,paid,45.99,eur\n")
	c, _, err := read(t, newSource(t, dir, chargeMapping("charges.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.bad(); len(got) != 1 || !strings.Contains(got[0], `the header has "Status": column names match exactly, so map "Status" or rename the column`) {
		t.Errorf("bad input %q", got)
	}
}

// TestOpenQuoteSaysWhatItSwallowed: a quote left open makes the rest of
// the file one broken field; the error says which lines are lost.
func TestOpenQuoteSaysWhatItSwallowed(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", "id,meta.order,created,status,amount,currency\n"+
		"ch_1,ORD-1,2026-11-20T10:00:00Z,paid,45.99,eur\n"+
		"ch_2,\"ORD-2,2026-11-20T10:01:00Z,paid,1.00,EUR\n"+
		"ch_3,ORD-3,2026-11-20T10:02:00Z,paid,2.00,EUR\n"+
		"ch_4,ORD-4,2026-11-20T10:03:00Z,paid,3.00,EUR\n")
	c, _, err := read(t, newSource(t, dir, chargeMapping("charges.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.bad(); len(got) != 1 || !strings.HasPrefix(got[0], "src:charges.csv:3 ") || !strings.Contains(got[0], "lines 3 to 5 are one broken field") {
		t.Errorf("bad input %q", got)
	}
}

// TestAmbiguousAmountInCSV: in a CSV export "12.500" EUR may be twelve
// thousand five hundred; it is bad input there (a JSON number is not).
func TestAmbiguousAmountInCSV(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "charges.csv", "id,meta.order,created,status,amount,currency\n"+
		"ch_1,ORD-1,2026-11-20T10:00:00Z,paid,12.500,eur\n"+
		"ch_2,ORD-2,2026-11-20T10:01:00Z,paid,1234.500,EUR\n")
	c, _, err := read(t, newSource(t, dir, chargeMapping("charges.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.bad(); len(got) != 1 || !strings.HasPrefix(got[0], "src:charges.csv:2 ") || !strings.Contains(got[0], "thousands separator") {
		t.Errorf("bad input %q; want line 2's amount", got)
	}
	write(t, dir, "charges.jsonl", `{"id":"ch_1","meta":{"order":"ORD-1"},"created":"2026-11-20T10:00:00Z","status":"paid","amount":12.500,"currency":"EUR"}`+"\n")
	c, _, err = read(t, newSource(t, dir, chargeMapping("charges.jsonl")))
	if err != nil || len(c.bad()) != 0 || len(c.Records) != 1 || c.Records[0].Amount != 1250 {
		t.Errorf("a JSON number 12.500: err %v, bad %q, records %+v", err, c.bad(), c.Records)
	}
}
