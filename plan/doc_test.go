package plan_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vitals-dev/vitals/dlq"
	"github.com/vitals-dev/vitals/emit"
	"github.com/vitals-dev/vitals/plan"
	"github.com/vitals-dev/vitals/report"
)

// TestSchemaIsDocumented: every JSON field of the plan, the command message
// and the dead-letter triage, and every CSV column, is in
// docs/plan-schema.md.
func TestSchemaIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/plan-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] || ty.PkgPath() == "time" {
			return
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if !strings.Contains(doc, `"`+name+`"`) {
				t.Errorf("%s.%s: field %q is not in docs/plan-schema.md", path, f.Name, name)
			}
			walk(f.Type, path+"."+name)
		}
	}
	walk(reflect.TypeOf(plan.Plan{}), "plan")
	walk(reflect.TypeOf(emit.Command{}), "command")
	walk(reflect.TypeOf(dlq.Triaged{}), "dlq")
	for _, col := range report.PlanCSVHeader {
		if !strings.Contains(doc, col) {
			t.Errorf("CSV column %q is not in docs/plan-schema.md", col)
		}
	}
	for _, s := range []string{plan.Schema, emit.Schema, dlq.Schema} {
		if !strings.Contains(doc, s) {
			t.Errorf("schema %q is not in docs/plan-schema.md", s)
		}
	}
}
