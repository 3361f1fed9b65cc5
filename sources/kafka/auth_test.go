package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/vitals-dev/vitals/internal/kafkatest"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/kafka"
	"github.com/vitals-dev/vitals/sources/sourcetest"
)

// SASL PLAIN and SCRAM against a broker that requires it; a wrong password
// fails with a message that does not show it.
func TestSASL(t *testing.T) {
	k := kafkatest.Start(t, []kfake.Opt{
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plainuser", "plain-pw"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "scram-pw-256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "scram-pw-512"),
	}, kgo.SASL(scram.Auth{User: "scram256", Pass: "scram-pw-256"}.AsSha256Mechanism()))
	topic := newTopic(t, k, 1)
	k.Produce(t, msg(topic, 0, t0, "k", `{"id":"I1"}`))
	for _, c := range []struct{ mech, user, pw string }{
		{"PLAIN", "plainuser", "plain-pw"},
		{"SCRAM-SHA-256", "scram256", "scram-pw-256"},
		{"scram-sha-512", "scram512", "scram-pw-512"},
	} {
		t.Run(c.mech, func(t *testing.T) {
			t.Setenv("VITALS_TEST_KAFKA_PW", c.pw)
			src := newSource(t, k, map[string]any{
				"sasl":    map[string]any{"mechanism": c.mech, "username": c.user, "password_env": "VITALS_TEST_KAFKA_PW"},
				"records": []any{map[string]any{"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"}}},
			})
			sink, cov := readAll(t, src, sources.Window{})
			if len(sink.Records) != 1 || !cov.Complete {
				t.Errorf("read %d records", len(sink.Records))
			}
			t.Setenv("VITALS_TEST_KAFKA_PW", "wrong-"+c.pw)
			_, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
			if err == nil {
				t.Fatal("a wrong password was accepted")
			}
			if strings.Contains(err.Error(), c.pw) {
				t.Errorf("the password is in the error: %v", err)
			}
		})
	}
}

// TestReadRefused: a user the ACLs let see the topic but not read it gets
// the broker's refusal at once, with what to ask for — not four attempts
// and "the broker went away".
func TestReadRefused(t *testing.T) {
	k := kafkatest.Start(t, []kfake.Opt{
		kfake.EnableSASL(),
		kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin-pw"),
		kfake.User("PLAIN", "auditor", "auditor-pw", kfake.ACL{
			Resource: kmsg.ACLResourceTypeTopic, Name: "*", Pattern: kmsg.ACLResourcePatternTypeLiteral,
			Operation: kmsg.ACLOperationDescribe, Allow: true,
		}),
	}, kgo.SASL(plain.Auth{User: "admin", Pass: "admin-pw"}.AsMechanism()))
	topic := newTopic(t, k, 1)
	k.Produce(t, msg(topic, 0, t0, "k", `{"id":"I1"}`))
	t.Setenv("VITALS_TEST_KAFKA_PW", "auditor-pw")
	src := newSource(t, k, map[string]any{
		"sasl":    map[string]any{"mechanism": "PLAIN", "username": "auditor", "password_env": "VITALS_TEST_KAFKA_PW"},
		"retries": 5,
		"records": []any{map[string]any{"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"}}},
	})
	start := time.Now()
	cov, err := src.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{})
	if err == nil || cov.Complete {
		t.Fatalf("read without the Read ACL: err %v, complete %v", err, cov.Complete)
	}
	if !strings.Contains(err.Error(), "Topic Authorization Failed") || !strings.Contains(err.Error(), "needs the Read and Describe ACLs on the topic") {
		t.Errorf("error does not say what to ask for: %v", err)
	}
	// Five retries would back off 0.2+0.4+...+1.0 = 3 s.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s: retried a refusal", d)
	}
	t.Log(err)
}

func ips(withIP bool) []net.IP {
	if withIP {
		return []net.IP{net.ParseIP("127.0.0.1")}
	}
	return nil
}

// TestTLSHostName: with no server_name, the bootstrap broker's certificate
// is checked against its host as configured (localhost), not the address
// it resolved to — a certificate for the host name only is the usual case.
func TestTLSHostName(t *testing.T) {
	dir := t.TempDir()
	serverCfg := selfSignedFor(t, dir, false)
	k := kafkatest.Start(t, []kfake.Opt{kfake.TLS(serverCfg)}, kgo.DialTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	topic := newTopic(t, k, 1)
	k.Produce(t, msg(topic, 0, t0, "k", `{"id":"I1"}`))
	_, port, _ := net.SplitHostPort(k.Addr)
	src, err := kafka.New(sources.Config{Name: "events", Type: "kafka", Dir: dir, KeyTypes: keyTypes, Raw: map[string]any{
		"brokers": []any{"localhost:" + port}, "tls": map[string]any{"ca_file": "ca.pem"},
		"records": []any{map[string]any{"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Reading then dials each partition's leader at the address the
	// cluster advertises (kfake: 127.0.0.1, which this certificate does
	// not name; a real cluster advertises the names its certificates
	// carry), so the metadata is what this test reads.
	if err := src.(interface{ Check(context.Context) error }).Check(context.Background()); err != nil {
		t.Errorf("metadata over TLS from localhost: %v", err)
	}
}

// TLS with a private CA given as ca_file.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	serverCfg := selfSigned(t, dir)
	k := kafkatest.Start(t, []kfake.Opt{kfake.TLS(serverCfg)}, kgo.DialTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	topic := newTopic(t, k, 1)
	k.Produce(t, msg(topic, 0, t0, "k", `{"id":"I1"}`))
	rec := []any{map[string]any{"topic": topic, "kind": "item", "keys": map[string]any{"item_id": "value.id"}}}
	src, err := kafka.New(sources.Config{Name: "events", Type: "kafka", Dir: dir, KeyTypes: keyTypes, Raw: map[string]any{
		"brokers": []any{k.Addr}, "tls": map[string]any{"ca_file": "ca.pem", "server_name": "localhost"}, "records": rec,
	}})
	if err != nil {
		t.Fatal(err)
	}
	sink, _ := readAll(t, src, sources.Window{})
	if len(sink.Records) != 1 {
		t.Errorf("read %d records over TLS", len(sink.Records))
	}
	// Without the CA the server is not trusted.
	plain := newSource(t, k, map[string]any{"tls": map[string]any{"enabled": true}, "dial_timeout": "2s", "records": rec})
	if _, err := plain.Read(context.Background(), sources.Window{Until: time.Now()}, &sourcetest.Sink{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an untrusted server certificate was accepted: %v", err)
	}
}

// selfSigned writes ca.pem (a self-signed certificate for localhost and
// 127.0.0.1) to dir and returns the server's TLS config.
func selfSigned(t *testing.T, dir string) *tls.Config { return selfSignedFor(t, dir, true) }

// selfSignedFor is selfSigned; withIP false leaves 127.0.0.1 out of the
// certificate, which then names the host localhost only.
func selfSignedFor(t *testing.T, dir string, withIP bool) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  ips(withIP),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}
