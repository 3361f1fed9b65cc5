package file_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/file"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

func load(t *testing.T, rows []sourcetest.Row, format string) (sources.Source, []record.Provenance) {
	dir := t.TempDir()
	name := "rows." + format
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	where := make([]record.Provenance, len(rows))
	switch format {
	case "csv":
		cw := csv.NewWriter(bw)
		_ = cw.Write(sourcetest.Fields)
		for i, r := range rows {
			_ = cw.Write(r.Values())
			where[i] = record.Provenance{Source: "files", Loc: name, Pos: int64(i + 2), Style: record.StyleLine}
		}
		cw.Flush()
	case "jsonl":
		for i, r := range rows {
			obj := map[string]any{}
			for j, v := range r.Values() {
				if v != "" {
					obj[sourcetest.Fields[j]] = v
				}
			}
			obj["amount"], _ = strconv.ParseInt(obj["amount"].(string), 10, 64)
			b, _ := json.Marshal(obj)
			bw.Write(append(b, '\n'))
			where[i] = record.Provenance{Source: "files", Loc: name, Pos: int64(i + 1), Style: record.StyleLine}
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rec := sourcetest.Spec(func(f string) string { return f })
	rec["path"] = name
	src, err := file.New(sources.Config{
		Name: "files", Type: "file", Dir: dir, KeyTypes: sourcetest.KeyTypes,
		Raw: map[string]any{"records": []any{rec}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return src, where
}

func TestConformanceCSV(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{Load: func(t *testing.T, rows []sourcetest.Row) (sources.Source, []record.Provenance) {
		return load(t, rows, "csv")
	}})
}

func TestConformanceJSONL(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{Load: func(t *testing.T, rows []sourcetest.Row) (sources.Source, []record.Provenance) {
		return load(t, rows, "jsonl")
	}})
}
