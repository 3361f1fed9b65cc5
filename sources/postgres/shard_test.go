package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/internal/pgtest"
	"github.com/vitals-dev/vitals/shard"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

// The SQL form of the shard hash selects exactly the values shard.Of
// gives the shard: pushdown and the shard's evaluation agree.
func TestShardSQLMatchesGo(t *testing.T) {
	db := pgtest.Open(t)
	for _, n := range []int{2, 3, 4, 7} {
		for i := 0; i < n; i++ {
			sp := shard.Spec{Index: i, Count: n}
			rows, err := db.Query(`SELECT v FROM (SELECT 'ORD-' || g AS v FROM generate_series(1, 2000) g UNION ALL SELECT NULL UNION ALL SELECT '') AS t WHERE ` + sp.SQLExpr("t.v"))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for rows.Next() {
				var v *string
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				if v == nil {
					got["NULL"] = true
				} else {
					got[*v] = true
				}
			}
			rows.Close()
			if !got["NULL"] || !got[""] {
				t.Errorf("shard %s: rows without a root key are not read", sp)
			}
			for g := 1; g <= 2000; g++ {
				v := fmt.Sprintf("ORD-%d", g)
				if got[v] != (shard.Of(v, n) == i) {
					t.Fatalf("shard %s: SQL selects %s: %v, shard.Of says shard %d", sp, v, got[v], shard.Of(v, n))
				}
			}
		}
	}
}

// Each shard reads its part of a table; together they read every row once,
// and the rows without a root key in every shard.
func TestShardPushdownReadsTheShardsRows(t *testing.T) {
	rows := sourcetest.Rows(300, false)
	for i := range rows {
		if i%10 == 0 {
			rows[i].Order = "" // no root key: every shard reads it
		}
	}
	table := loadRows(t, rows)
	rec := sourcetest.Spec(func(f string) string { return f })
	rec["table"] = table
	src := newSource(t, map[string]any{"shard_pushdown": true, "records": []any{rec}})
	w := sources.Window{Until: sourcetest.Base.Add(time.Hour * 24)}
	seen := map[string]int{}
	for i := 0; i < 3; i++ {
		w.Shard = sources.Shard{Spec: shard.Spec{Index: i, Count: 3}, Root: "order_id"}
		sink := &sourcetest.Sink{}
		if _, err := src.Read(context.Background(), w, sink); err != nil {
			t.Fatal(err)
		}
		for _, r := range sink.Records {
			id, _ := r.Key("item_id")
			seen[id]++
			if o, ok := r.Key("order_id"); ok && shard.Of(o, 3) != i {
				t.Errorf("shard %d read %s of order %s (shard %d)", i, id, o, shard.Of(o, 3))
			}
		}
	}
	for i, r := range rows {
		want := 1
		if r.Order == "" {
			want = 3
		}
		if seen[r.ID] != want {
			t.Errorf("row %d (%s, order %q) read %d times, want %d", i, r.ID, r.Order, seen[r.ID], want)
		}
	}
}

func TestShardPushdownNeedsAPlainRootColumn(t *testing.T) {
	table := loadRows(t, sourcetest.Rows(3, false))
	for _, tc := range []struct {
		name  string
		order any
		query string
		want  string
	}{
		{"prefix", map[string]any{"field": "order_id", "prefix": "X-"}, "", "mapped from a plain column"},
		{"not a column", "meta.order", "SELECT *, CAST('{}' AS jsonb) AS meta FROM " + table, "a JSON path cannot be filtered in SQL"},
		{"not a subquery", "order_id", "SELECT * FROM " + table + " FOR SHARE", "PostgreSQL refused that"},
	} {
		rec := sourcetest.Spec(func(f string) string { return f })
		rec["table"] = table
		rec["keys"] = map[string]any{"item_id": "id", "order_id": tc.order}
		if tc.query != "" {
			rec["query"] = tc.query
		}
		src := newSource(t, map[string]any{"shard_pushdown": true, "records": []any{rec}})
		w := sources.Window{Until: time.Now(), Shard: sources.Shard{Spec: shard.Spec{Index: 0, Count: 2}, Root: "order_id"}}
		_, err := src.Read(context.Background(), w, &sourcetest.Sink{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "shard_pushdown") {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// A cast is written as in psql (README: "write :: for a cast").
func TestQueryWithCast(t *testing.T) {
	table := loadRows(t, sourcetest.Rows(3, false))
	rec := sourcetest.Spec(func(f string) string { return f })
	rec["table"] = table
	rec["query"] = "SELECT *, created_at::date::text AS day FROM " + table + " WHERE created_at >= :since"
	rec["attrs"] = map[string]any{"day": "day"}
	src := newSource(t, map[string]any{"records": []any{rec}})
	sink := &sourcetest.Sink{}
	if _, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.Records) != 3 || sink.Records[0].Attr("day") != "2026-11-20" {
		t.Fatalf("read %d records, day %q", len(sink.Records), sink.Records[0].Attr("day"))
	}
}
