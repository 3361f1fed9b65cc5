// Package kafkatest runs an in-process Kafka broker (franz-go's kfake) that
// tests reach over TCP, and produces messages to it with a real client
// (franz-go's kgo), so that the kafka source is tested against the wire
// protocol rather than a mock.
package kafkatest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cluster is a running in-process broker.
type Cluster struct {
	*kfake.Cluster
	Addr string
	cl   *kgo.Client
	once sync.Once
}

// Start starts a one-broker cluster, closed at the end of the test. The
// producer client it keeps uses clientOpts (for SASL, TLS).
func Start(t testing.TB, opts []kfake.Opt, clientOpts ...kgo.Opt) *Cluster {
	t.Helper()
	k, err := New(opts, clientOpts...)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(k.Shutdown)
	return k
}

// New starts a one-broker cluster; Shutdown stops it.
func New(opts []kfake.Opt, clientOpts ...kgo.Opt) (*Cluster, error) {
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	addr := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.MaxBufferedRecords(1 << 20),
		// The Java producer's default batch.size: fetches then return
		// batches of a realistic size.
		kgo.ProducerBatchMaxBytes(16 << 10),
	}, clientOpts...)...)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("client: %w", err)
	}
	return &Cluster{Cluster: c, Addr: addr, cl: cl}, nil
}

// Shutdown stops the producer client and the broker; calling it twice is
// harmless.
func (k *Cluster) Shutdown() {
	k.once.Do(func() {
		k.cl.Close()
		k.Cluster.Close()
	})
}

// CreateTopic creates a topic with n partitions.
func (k *Cluster) CreateTopic(t testing.TB, name string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.createTopic(ctx, name, n); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}

func (k *Cluster) createTopic(ctx context.Context, name string, n int) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = name
	rt.NumPartitions = int32(n)
	rt.ReplicationFactor = 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, k.cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 {
		return fmt.Errorf("create topic %s: %w", name, kerr.ErrorForCode(code))
	}
	return nil
}

// Produce sends recs (Topic and Partition set) and waits for every ack;
// each record then holds its offset.
func (k *Cluster) Produce(t testing.TB, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("kafkatest: produce: %v", err)
	}
}

// Groups lists the consumer groups the broker knows.
func (k *Cluster) Groups(t testing.TB) []string {
	t.Helper()
	req := kmsg.NewPtrListGroupsRequest()
	resp, err := req.RequestWith(context.Background(), k.cl)
	if err != nil {
		t.Fatalf("kafkatest: list groups: %v", err)
	}
	var out []string
	for _, g := range resp.Groups {
		out = append(out, g.Group)
	}
	return out
}

// Header is a shorthand for a record header.
func Header(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
