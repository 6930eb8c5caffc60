// Command prometheus serves the metrics of an instrumented SODP client to
// Prometheus, at http://ADDR/metrics. With no -url it starts an embedded
// test server that changes a key every 100 ms; the client watches it and
// writes another key every second.
//
//	go run ./example/prometheus                  # serve until interrupted
//	go run ./example/prometheus -once            # print one scrape and exit
//	go run ./example/prometheus -url ws://host:7777 -addr :9464
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodpotel"
	"github.com/sodp-go/client/sodp/sodptest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9464", "address to serve /metrics on")
	url := flag.String("url", "", "SODP server URL (default: an embedded test server)")
	once := flag.Bool("once", false, "print one scrape of /metrics after a few updates, and exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *url, *once, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, url string, once bool, out io.Writer) error {
	// The OpenTelemetry SDK, exporting to a Prometheus registry.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	if url == "" {
		srv := sodptest.NewServer()
		defer srv.Close()
		url = srv.URL
		go func() {
			defer close(done)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 1; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					srv.Set("demo.counter", i)
				}
			}
		}()
	} else {
		close(done)
	}

	// The client, instrumented: the one line that wires it.
	client, err := sodp.Dial(ctx, url, sodpotel.Instrument(sodpotel.WithMeterProvider(mp)))
	if err != nil {
		return err
	}
	defer client.Close()
	sub, err := sodp.Watch[int](ctx, client, "demo.counter")
	if err != nil {
		return err
	}
	defer sub.Close()
	if _, err := client.Set(ctx, "demo.note", "hello"); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		hs.Close()
		<-served
	}()
	fmt.Fprintf(os.Stderr, "serving the client's metrics on http://%s/metrics (SODP server %s)\n", ln.Addr(), url)

	write := time.NewTicker(time.Second)
	defer write.Stop()
	for n := 0; ; {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-sub.Updates():
			if !ok {
				return sub.Err()
			}
			n++
			if once && n >= 5 {
				return scrape(ctx, "http://"+ln.Addr().String()+"/metrics", out)
			}
		case <-write.C:
			if _, err := client.Set(ctx, "demo.note", time.Now().Format(time.RFC3339)); err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintln(os.Stderr, "write:", err)
			}
		}
	}
}

// scrape copies one response of the metrics endpoint to out.
func scrape(ctx context.Context, url string, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	_, err = io.Copy(out, resp.Body)
	return err
}
