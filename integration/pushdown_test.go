package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-dev/vitals/fixtures/gen"
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
