// Command kafkademo runs an in-process Kafka broker (franz-go's kfake) on
// 127.0.0.1:9092 holding the checkout demo's topics, checkout.events and
// checkout.dlq, filled from fixtures/checkout, until it is interrupted. It
// lets configs/checkout-pg-kafka.yaml be tried without a Kafka cluster:
//
//	go run ./internal/cmd/kafkademo &
//	KAFKA_BROKERS=127.0.0.1:9092 SHOPDB_DSN=... go run ./cmd/vitals check --config configs/checkout-pg-kafka.yaml
//
// With -empty it starts with no topics, for a generated workload:
//
//	go run ./internal/cmd/kafkademo -empty &
//	go run ./fixtures/gen/cmd/workload -n 1000000 -out /tmp/w1m -pg ... -kafka 127.0.0.1:9092
//
// It is a development aid, not part of vitals.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/vitals-dev/vitals/internal/kafkatest"
)

func main() {
	port := flag.Int("port", 9092, "port to listen on (127.0.0.1)")
	dir := flag.String("fixtures", "fixtures/checkout", "directory holding events.jsonl and dead_letters.jsonl")
	empty := flag.Bool("empty", false, "start with no topics (for go run ./fixtures/gen/cmd/workload -kafka 127.0.0.1:9092)")
	flag.Parse()
	k, err := kafkatest.New([]kfake.Opt{kfake.Ports(*port)})
	if err != nil {
		fmt.Fprintf(os.Stderr, "kafkademo: %v (is port %d taken?)\n", err, *port)
		os.Exit(1)
	}
	defer k.Shutdown()
	if *empty {
		fmt.Printf("kafkademo: broker at %s, no topics; Ctrl-C stops it\n", k.Addr)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = k.LoadCheckout(ctx, *dir)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "kafkademo: loading %s: %v\n", *dir, err)
			os.Exit(1)
		}
		fmt.Printf("kafkademo: broker at %s with topics %s (%d partitions) and %s; Ctrl-C stops it\n",
			k.Addr, kafkatest.EventsTopic, kafkatest.EventsPartitions, kafkatest.DLQTopic)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
