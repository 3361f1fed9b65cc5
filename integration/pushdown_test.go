package integration

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/fixtures/gen"
	"github.com/vitals-dev/vitals/internal/pgtest"
	vreport "github.com/vitals-dev/vitals/report"
	"github.com/vitals-dev/vitals/shard"
)

// withPushdown writes a copy of config with shard_pushdown: true on its
// postgres sources.
func withPushdown(t *testing.T, config string) string {
	t.Helper()
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		out = append(out, line)
		if strings.TrimSpace(line) == "type: postgres" {
			out = append(out, strings.Replace(line, "type: postgres", "shard_pushdown: true", 1))
		}
	}
	p := filepath.Join(filepath.Dir(config), "pushdown-"+filepath.Base(config))
	if err := os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// With the shard filter pushed into PostgreSQL, each shard reads only its
// own orders and reservations, and the merge still equals the single run
// on a generated workload, ground truth included.
func TestShardPushdownWorkload(t *testing.T) {
	dir := liveWorkload(t, 2000, 9)
	config := withPushdown(t, filepath.Join(dir, "vitals-pg-kafka.yaml"))
	single, merged, shards := runShards(t, 4, "--config", config)
	// Each shard read about a quarter of the shop database, and all of
	// the other sources.
	for i, sh := range shards {
		for k, src := range sh.Sources {
			all := single.Sources[k].Records
			if src.Name == "shopdb" && (src.Records < all/6 || src.Records > all/3) {
				t.Errorf("shard %d read %d of %d shopdb records; want about a quarter", i, src.Records, all)
			}
			if src.Name != "shopdb" && src.Records != all {
				t.Errorf("shard %d read %d of %d %s records; want all", i, src.Records, all, src.Name)
			}
		}
	}
	if merged.Merged == nil || strings.Join(merged.Merged.Pushdown, ",") != "shopdb" {
		t.Fatalf("merge info %+v; want pushdown on shopdb", merged.Merged)
	}
	// The one thing pushdown cannot see whole: an instance linking roots
	// of different shards (the ambiguous_link scenario: two orders, one
	// idempotency key). Its shard lacks the other order's rows, so its
	// evidence and step details differ; its findings (ids and codes) and
	// outcome do not, and the merge names every such instance.
	split := map[string]bool{}
	for _, in := range single.Instances {
		for _, r := range in.Roots {
			if shard.Of(r, 4) != shard.Of(in.Roots[0], 4) {
				split[in.Root] = true
			}
		}
	}
	if len(split) == 0 {
		t.Fatal("no instance links roots of different shards: the workload changed?")
	}
	warned := map[string]bool{}
	for _, w := range merged.Merged.Warnings {
		for root := range split {
			if strings.Contains(w, "roots "+root+", ") {
				warned[root] = true
			}
		}
	}
	if len(warned) != len(split) || len(merged.Merged.Warnings) != len(split) {
		t.Errorf("%d instances link roots of different shards, the merge warns about %d in %d warnings: %v", len(split), len(warned), len(merged.Merged.Warnings), merged.Merged.Warnings)
	}
	sameReportExcept(t, single, merged, split)
	truth, err := gen.ReadTruth(filepath.Join(dir, "truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if bad := gen.CheckTruth(truth, findingCodes(merged)); len(bad) > 0 {
		t.Errorf("the merged report differs from the ground truth:\n%s", strings.Join(bad, "\n"))
	}
}

// pushdownCase loads orders (id, idempotency key) into a fresh database
// and charges (id, idempotency key: no order id) into a file, and returns
// a config reading them, with pushdown on the orders.
func pushdownCase(t *testing.T, orders, charges [][2]string) string {
	t.Helper()
	dsn := pgtest.Fresh(t)
	t.Setenv("SHOPDB_DSN", dsn)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE orders (id text PRIMARY KEY, idem text, status text, total bigint, currency text, created_at timestamptz)`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i, o := range orders {
		if _, err := db.Exec(`INSERT INTO orders VALUES ($1, $2, 'confirmed', 1000, 'EUR', $3)`, o[0], o[1], at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	csv := "id,idem,status,amount,currency,created\n"
	for i, c := range charges {
		csv += fmt.Sprintf("%s,%s,succeeded,1000,EUR,%s\n", c[0], c[1], at.Add(time.Duration(i)*time.Minute+time.Second).Format(time.RFC3339))
	}
	if err := os.WriteFile(filepath.Join(dir, "charges.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := filepath.Abs("../configs/checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "vitals.yaml")
	if err := os.WriteFile(config, []byte(`extends: `+base+`
data_dir: .
sources:
  - name: shopdb
    type: postgres
    dsn_env: SHOPDB_DSN
    shard_pushdown: true
    records:
      - kind: order
        table: orders
        query: SELECT id, idem, status, total, currency, created_at FROM orders WHERE created_at >= :since AND created_at <= :until
        keys: {order_id: id, idempotency_key: idem}
        time: created_at
        status: status
        amount: {value: total, currency: currency}
  - name: provider
    type: file
    records:
      - kind: charge
        path: charges.csv
        keys: {charge_id: id, idempotency_key: idem}
        time: created
        status: status
        amount: {value: amount, currency: currency}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return config
}

// Charges that carry no order id link to their order only through the
// order's row, which pushdown gives to one shard: the other shards take
// each charge for an orphan. The merge drops those candidates (the owning
// shard linked them), and equals the single run exactly.
func TestShardPushdownSettlesOrphans(t *testing.T) {
	var orders, charges [][2]string
	for i := 0; i < 40; i++ {
		orders = append(orders, [2]string{fmt.Sprintf("ORD-%d", 100+i), fmt.Sprintf("idem_%d", i)})
		charges = append(charges, [2]string{fmt.Sprintf("ch_%d", i), fmt.Sprintf("idem_%d", i)})
	}
	// And one real orphan: a charge nothing links.
	charges = append(charges, [2]string{"ch_dashboard", "idem_none"})
	single, merged, shards := runShards(t, 4, "--config", pushdownCase(t, orders, charges))
	sameReport(t, single, merged)
	candidates := 0
	for _, s := range shards {
		candidates += len(s.Shard.Orphans)
	}
	if single.Summary.Orphans != 1 || merged.Merged.DroppedOrphans == 0 || candidates != merged.Merged.DroppedOrphans+1 || len(merged.Merged.Warnings) > 0 {
		t.Errorf("single run: %d orphans; shards: %d candidates; merge: %+v; want 1 orphan left of candidates, every other dropped, no warnings", single.Summary.Orphans, candidates, merged.Merged)
	}
}

// What pushdown cannot see whole: two orders of different shards linked
// by a shared idempotency key. Through a record without a root key (a
// charge), both shards link that charge, each to its own order, and the
// merge warns naming both. Through the pushed-down rows alone, no shard
// sees both rows: the merge judges two separate instances where the
// single run reports AMBIGUOUS_LINK, and nothing can tell. Run without
// pushdown when such links matter (README: Sharded runs).
func TestShardPushdownCrossRoot(t *testing.T) {
	// Pick pairs of order ids that hash to different shards.
	var pairs [][2]string
	for i := 0; len(pairs) < 2; i += 2 {
		a, b := fmt.Sprintf("ORD-%d", 500+i), fmt.Sprintf("ORD-%d", 501+i)
		if shard.Of(a, 4) != shard.Of(b, 4) {
			pairs = append(pairs, [2]string{a, b})
		}
	}
	viaCharge, viaRows := pairs[0], pairs[1]
	orders := [][2]string{{viaCharge[0], "idem_shared_1"}, {viaCharge[1], "idem_shared_1"}, {viaRows[0], "idem_shared_2"}, {viaRows[1], "idem_shared_2"}}
	charges := [][2]string{{"ch_shared", "idem_shared_1"}}
	single, merged, _ := runShards(t, 4, "--config", pushdownCase(t, orders, charges))
	ambiguous := func(r *vreport.Report) map[string]bool {
		out := map[string]bool{}
		for _, f := range r.Findings {
			if f.Code == "AMBIGUOUS_LINK" {
				out[f.Root] = true
			}
		}
		return out
	}
	if s := ambiguous(single); !s[viaCharge[0]] || !s[viaRows[0]] {
		t.Fatalf("the single run reports AMBIGUOUS_LINK on %v; want %s and %s", s, viaCharge[0], viaRows[0])
	}
	if m := ambiguous(merged); len(m) != 0 {
		t.Errorf("the merge reports AMBIGUOUS_LINK on %v; no shard saw both rows of a pair", m)
	}
	var warned []string
	for _, w := range merged.Merged.Warnings {
		if strings.Contains(w, viaCharge[0]+" and "+viaCharge[1]) {
			warned = append(warned, viaCharge[0])
		}
		if strings.Contains(w, viaRows[0]) || strings.Contains(w, viaRows[1]) {
			t.Errorf("a warning about %v, which no shard could see: %s", viaRows, w)
		}
	}
	if len(warned) != 1 || len(merged.Merged.Warnings) != 1 {
		t.Errorf("merge warnings %q; want one naming %s and %s", merged.Merged.Warnings, viaCharge[0], viaCharge[1])
	}
}
