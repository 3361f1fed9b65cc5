package integration

import (
	"strings"
	"testing"
)

func TestDoctorPostgresAndKafka(t *testing.T) {
	dsn := shopDB(t)
	checkoutKafka(t)
	code, out, errOut := vitals(t, "doctor", "--config", "../configs/checkout-pg-kafka.yaml")
	if code != 0 {
		t.Fatalf("doctor exited %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"shopdb (postgres, ", "connect   ok", "shopdb:orders#ORD-1002  order",
		"events (kafka, ", "dlq (kafka, ", "dead_letter",
		"mapping errors (1; the first 1 by location)", "value is not JSON",
		"4 source(s) checked: 4 ok, 0 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, dsn) {
		t.Error("the DSN is printed")
	}
}

func TestDoctorFailsOnAnUnreachableSource(t *testing.T) {
	shopDB(t)
	checkoutKafka(t)
	t.Setenv("KAFKA_BROKERS", "127.0.0.1:1")
	t.Setenv("SHOPDB_DSN", "postgres://vitals:Sup3rSecret@127.0.0.1:1/shop?sslmode=disable&connect_timeout=2")
	code, out, errOut := vitals(t, "doctor", "--config", "../configs/checkout-pg-kafka.yaml")
	if code != 3 {
		t.Fatalf("doctor exited %d, want 3: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"connect   FAILED: cannot reach any broker of 127.0.0.1:1", "connect   FAILED: cannot connect to 127.0.0.1:1", "1 ok, 3 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, `source "shopdb" (postgres)`) || !strings.Contains(errOut, `source "events" (kafka)`) {
		t.Errorf("stderr does not name the failed sources: %s", errOut)
	}
	if strings.Contains(out+errOut, "Sup3rSecret") {
		t.Error("the password is printed")
	}
}
